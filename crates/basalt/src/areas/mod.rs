//! Areas as the binary handles them: loading them for `serve` and reloading them while it
//! runs. The `basalt area` commands live in `commands/area/`.

pub(crate) mod load;
pub(crate) mod reload;
