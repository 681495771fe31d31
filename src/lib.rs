//! Work in progress.
mod transport {
    #[derive(Clone, Debug)]
    pub struct Inner;
    impl progenitor_client::ClientHooks<Inner> for crate::generated::Client {}
}
mod request {
    #[derive(Clone, Debug, serde::Serialize)]
    pub struct KeyUpdate;
}
#[allow(dead_code, unused_imports)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/codegen.rs"));
}
#[cfg(feature = "fake")]
pub mod fake;
