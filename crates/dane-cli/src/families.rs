//! `--ca-families FILE`: the issuer-family list (`dane verify`, `dane scan`,
//! `dane serve-metrics`, `dane zone check`, `dane tlsa generate`). The list and every rule about it are in `dane_tlsa::CaFamilies`;
//! this module only reads the file, bounded.

use std::path::Path;
use std::sync::Arc;

use dane_tlsa::CaFamilies;

/// Largest list read: the embedded one is about 11 KB.
pub const MAX_CA_FAMILIES: u64 = 1 << 20;

/// The list in `path`, else the one embedded in this build. Errors are one line naming
/// the flag, the file and what is wrong.
pub fn load(path: Option<&Path>) -> anyhow::Result<Arc<CaFamilies>> {
    let Some(path) = path else {
        return Ok(Arc::new(CaFamilies::embedded().clone()));
    };
    let label = format!("--ca-families {}", path.display());
    let text = crate::input::read_bounded(&label, path, MAX_CA_FAMILIES)?;
    CaFamilies::parse(&text)
        .map(Arc::new)
        .map_err(|e| anyhow::anyhow!("{label}: {e}"))
}
