//! Integration tests: each drives a real `hbpc-gateway serve` process over HTTP.

mod security_support;
mod support;

mod audit_trail;
mod cli;
mod clients;
mod compartment;
mod conditional_create;
mod delivery;
mod dockerfile;
mod docs_examples;
mod durability;
mod errors;
mod fhir_sdk_client;
mod messages;
mod migrate;
mod patch;
mod readme;
mod reevaluation;
mod referrals;
mod replicas;
mod rest_roundtrip;
mod search_hie;
mod search_history;
mod search_paging;
mod search_params;
mod search_support;
mod security;
mod security_cli;
mod security_jwks_url;
mod security_own_tasks;
mod shutdown;
mod transaction;
mod validate;
mod workbench;
