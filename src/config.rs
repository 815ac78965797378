//! The configuration file: KubeVirt's `mediatedDevicesConfiguration` and
//! `permittedHostDevices`, in any of the four accepted shapes (docs/configuration.md), validated
//! strictly before anything on the host is read. Errors name file, line, column and field.
//! One topic per file: the model ([`model`]), loading and validating it ([`load`], handed
//! the file's bytes, so nothing here reads), the node's identity ([`node`]), what the
//! configuration asks of one node ([`selectors`]), and the name rules the command line
//! shares ([`names`]: PCI addresses, the hostname label, label syntax).

mod depth;
pub mod load;
pub mod model;
pub mod names;
pub mod node;
pub mod selectors;

#[cfg(test)]
mod tests;
