use super::*;
use serde_json::json;

const LIMITS: JsonLimits = JsonLimits {
    max_depth: 64,
    max_elements: 10_000,
};

fn read(xml: &str) -> Result<Value, XmlError> {
    parse_resource(xml.as_bytes(), LIMITS)
}

#[test]
fn primitives_take_their_json_types_and_decimals_keep_their_digits() {
    let value = read(
        r#"<Observation xmlns="http://hl7.org/fhir"><status value="final"/>
        <valueQuantity><value value="37.50"/></valueQuantity>
        <component><code><text value="c"/></code><valueBoolean value="true"/></component>
        <component><code><text value="d"/></code><valueInteger value="7"/></component>
        </Observation>"#,
    )
    .unwrap();
    assert_eq!(value["valueQuantity"]["value"].to_string(), "37.50");
    assert_eq!(value["component"][0]["valueBoolean"], json!(true));
    assert_eq!(value["component"][1]["valueInteger"], json!(7));
    assert_eq!(value["status"], "final");
}

#[test]
fn primitive_ids_and_extensions_go_to_the_underscore_member_aligned_in_lists() {
    let value = read(
        r#"<Patient xmlns="http://hl7.org/fhir"><name>
          <given value="Rosa"/>
          <given id="g2"><extension url="http://example.org/x"><valueString value="s"/></extension></given>
        </name><birthDate value="1941-03-02" id="b"/></Patient>"#,
    )
    .unwrap();
    assert_eq!(value["name"][0]["given"], json!(["Rosa", null]));
    assert_eq!(
        value["name"][0]["_given"],
        json!([null, {"id": "g2", "extension": [{"url": "http://example.org/x", "valueString": "s"}]}])
    );
    assert_eq!(value["_birthDate"], json!({"id": "b"}));
}

#[test]
fn narrative_contained_and_nested_resources() {
    let value = read(
        r#"<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><resource>
        <Patient><id value="p"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">a &amp; <b>b</b></div></text>
        <contained><Organization><id value="o"/><name value="Org"/></Organization></contained>
        </Patient></resource></entry></Bundle>"#,
    )
    .unwrap();
    let patient = &value["entry"][0]["resource"];
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(
        patient["text"]["div"],
        r#"<div xmlns="http://www.w3.org/1999/xhtml">a &amp; <b>b</b></div>"#
    );
    assert_eq!(patient["contained"][0]["resourceType"], "Organization");
    assert_eq!(patient["contained"][0]["id"], "o");
}

#[test]
fn a_div_in_an_inherited_namespace_is_written_with_its_own() {
    let value = read(
        r#"<Patient xmlns="http://hl7.org/fhir" xmlns:h="http://www.w3.org/1999/xhtml"><text><status value="generated"/><h:div><h:p>x</h:p></h:div></text></Patient>"#,
    )
    .unwrap();
    assert_eq!(
        value["text"]["div"],
        r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>"#
    );
}

#[test]
fn no_dtd_so_no_entity_is_ever_expanded() {
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><gender value="&x;"/></Patient>"#;
    assert!(matches!(read(xxe), Err(XmlError::Syntax { line: 1, .. })));
    let laughs = r#"<!DOCTYPE P [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><Patient xmlns="http://hl7.org/fhir"/>"#;
    assert!(read(laughs).is_err());
}

#[test]
fn depth_and_element_limits_hold() {
    let deep = format!(
        r#"<Questionnaire xmlns="http://hl7.org/fhir">{}{}</Questionnaire>"#,
        "<item>".repeat(100),
        "</item>".repeat(100)
    );
    assert!(matches!(
        read(&deep),
        Err(XmlError::TooDeep { limit: 64, .. })
    ));
    let many = format!(
        r#"<Patient xmlns="http://hl7.org/fhir">{}</Patient>"#,
        "<identifier><value value=\"x\"/></identifier>".repeat(6000)
    );
    assert!(matches!(
        read(&many),
        Err(XmlError::TooManyElements { limit: 10_000 })
    ));
}

#[test]
fn structural_errors_name_the_element_and_its_line() {
    let err = read("<Patient xmlns=\"http://hl7.org/fhir\">\n  <birthDate value=\"1941-03-02\"/>\n  <birthDate value=\"1941-03-03\"/>\n</Patient>").unwrap_err();
    let issue = err.issue();
    assert_eq!(issue.expression, vec!["Patient.birthDate".to_string()]);
    assert_eq!(issue.diagnostics.as_deref(), Some("line 3, column 3"));
    let err = read("<Patient xmlns=\"http://hl7.org/fhir\">\n<name>\n<family>Delgado</family></name></Patient>").unwrap_err();
    assert_eq!(
        err.issue().expression,
        vec!["Patient.name[0].family".to_string()]
    );
    assert!(read("<Patient><gender value=\"female\"/></Patient>").is_err());
    assert!(read("<Patient xmlns=\"http://hl7.org/fhir\" foo=\"1\"/>").is_err());
    let err = read("<Patient xmlns=\"http://hl7.org/fhir\">\n<name><family value=\"a\u{1}\"/></name></Patient>");
    assert!(err.is_err(), "XML 1.0 has no U+0001, even as a reference");
}

#[test]
fn unknown_elements_are_kept_for_the_validator_with_their_position() {
    let (value, positions) = parse_with_positions(
        b"<Patient xmlns=\"http://hl7.org/fhir\">\n  <name>\n    <nickname value=\"Rosie\"/>\n  </name>\n</Patient>",
        LIMITS,
    )
    .unwrap();
    assert_eq!(value["name"][0]["nickname"], "Rosie");
    assert_eq!(positions.get("Patient.name[0].nickname"), Some(&(3, 5)));
    assert_eq!(positions.get("Patient.name[0]"), Some(&(2, 3)));
}

#[test]
fn writing_follows_the_definition_order_and_reads_back() {
    let resource: Value = serde_json::from_str(
        r#"{
        "resourceType": "Patient",
        "birthDate": "1941-03-02",
        "_birthDate": {"extension": [{"url": "http://example.org/t", "valueDateTime": "1941-03-02T06:15:00Z"}]},
        "name": [{"given": ["Rosa", "Maria"], "family": "Delgado", "id": "n1"}],
        "id": "rosa",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Rosa</div>"},
        "extension": [{"url": "http://example.org/e", "valueDecimal": 1.50}],
        "contained": [{"resourceType": "Organization", "id": "o", "name": "line\nbreak \"quoted\" <&>"}]
    }"#,
    )
    .unwrap();
    let xml = write_resource(&resource);
    let id = xml.find("<id value=\"rosa\"/>").unwrap();
    let text = xml.find("<text>").unwrap();
    let contained = xml.find("<contained>").unwrap();
    let extension = xml
        .find("<extension url=\"http://example.org/e\">")
        .unwrap();
    let name = xml.find("<name id=\"n1\">").unwrap();
    let birth = xml.find("<birthDate value=\"1941-03-02\">").unwrap();
    assert!(
        id < text && text < contained && contained < extension && extension < name && name < birth,
        "{xml}"
    );
    assert!(
        xml.find("<family").unwrap() < xml.find("<given").unwrap(),
        "{xml}"
    );
    assert!(xml.contains("<valueDecimal value=\"1.50\"/>"), "{xml}");
    assert_eq!(read(&xml).unwrap(), resource);
}

#[test]
fn a_narrative_that_is_not_xhtml_cannot_break_the_document() {
    let resource = json!({"resourceType": "Patient", "text": {"status": "generated", "div": "</div></text><evil/>"}});
    let xml = write_resource(&resource);
    assert!(roxmltree::Document::parse(&xml).is_ok(), "{xml}");
    assert!(!xml.contains("<evil/>"));
}
