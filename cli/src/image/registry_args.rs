//! Options every registry command (`pull`, `push`, `login`) takes, turned into the engine's
//! [`RegistryOptions`].

use berth_engine::registry::RegistryOptions;

/// How to reach registries.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RegistryArgs {
    /// A registry (HOST[:PORT]) that may be reached over plain HTTP; loopback registries
    /// always may
    #[arg(
        long = "insecure-registry",
        env = "BERTH_INSECURE_REGISTRIES",
        value_delimiter = ',',
        value_name = "HOST[:PORT]"
    )]
    pub insecure: Vec<String>,
}

impl RegistryArgs {
    /// The engine's options: these flags over the environment's defaults.
    pub fn options(&self) -> RegistryOptions {
        let mut o = RegistryOptions::from_env();
        o.insecure.extend(self.insecure.iter().cloned());
        o
    }
}
