//! The DNS names ordered: fresh random labels, so no order can reuse another's authorization.

use ring::rand::{SecureRandom as _, SystemRandom};

use crate::error::Error;

/// Bytes of randomness per label: 48 bits keeps names unique across millions of orders.
const RANDOM_BYTES: usize = 6;

/// `l<worker>-<12 hex digits>.load.<suffix>`: the worker number makes failures traceable to
/// a worker, and the test DNS server answers any name under the suffix.
pub(crate) fn random_names(
    rng: &SystemRandom,
    worker: u32,
    suffix: &str,
    count: u32,
) -> Result<Vec<String>, Error> {
    (0..count)
        .map(|_| {
            let mut random = [0u8; RANDOM_BYTES];
            rng.fill(&mut random)
                .map_err(|_| Error::Crypto("no randomness for a name"))?;
            let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
            Ok(format!("l{worker}-{hex}.load.{suffix}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_worker_and_suffix_and_differ() {
        let names = random_names(&SystemRandom::new(), 3, "test", 3).unwrap();
        assert_eq!(names.len(), 3);
        for name in &names {
            assert!(name.starts_with("l3-"), "{name}");
            assert!(name.ends_with(".load.test"), "{name}");
            assert_eq!(name.len(), "l3-".len() + 12 + ".load.test".len());
        }
        assert_ne!(names[0], names[1]);
    }
}
