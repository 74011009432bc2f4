//! Integration tests: each drives a real `hbpc-gateway serve` process over HTTP.

mod support;

mod cli;
mod conditional_create;
mod delivery;
mod dockerfile;
mod durability;
mod errors;
mod fhir_sdk_client;
mod migrate;
mod referrals;
mod replicas;
mod rest_roundtrip;
mod shutdown;
mod transaction;
mod validate;
