//! One thin file per subcommand: read, decide, render.

pub mod apply;
pub mod bind;
pub mod capture;
pub mod completions;
pub mod devices;
pub mod env;
pub mod init;
pub mod iommu;
pub mod list_types;
pub mod man;
pub mod plan;
pub mod status;
pub mod teardown;
pub mod tree;

/// A PCI address argument (`0000:65:00.0` or `65:00.0`), canonical; `what` names it in the
/// usage error (64), e.g. `--device` or `DEVICE`.
pub(crate) fn pci_arg(what: &str, a: &str) -> anyhow::Result<String> {
    crate::config::names::pci_address(a).map_err(|why| {
        crate::error::fail(
            crate::error::Code::Usage,
            match why {
                Some(why) => format!("{what} {a:?}: {why}"),
                None => {
                    format!("{what} {a:?}: expected a PCI address such as 0000:65:00.0 or 65:00.0")
                }
            },
        )
    })
}
