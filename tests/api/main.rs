//! Integration tests: each drives a real `hbpc-gateway serve` process over HTTP.

mod support;

mod cli;
mod conditional_create;
mod dockerfile;
mod durability;
mod errors;
mod fhir_sdk_client;
mod migrate;
mod replicas;
mod rest_roundtrip;
mod search_hie;
mod search_history;
mod search_paging;
mod search_params;
mod search_support;
mod shutdown;
mod transaction;
mod validate;
