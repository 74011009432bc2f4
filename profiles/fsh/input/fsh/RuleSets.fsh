// Metadata every HBPC artifact carries (with FSHOnly, SUSHI applies only version and status from
// sushi-config.yaml).
RuleSet: HBPCMetadata
* ^publisher = "HBPC program"
* ^date = "2026-11-28"
