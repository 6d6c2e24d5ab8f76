//! `signature_primitives`: ring's raw signature and key-agreement operations, measured the way
//! `openssl speed` measures OpenSSL's, so `BENCHMARKS.md` can compare the two and
//! separate the cryptography in the other groups from basalt's own overhead.

use std::hint::black_box;

use criterion::{Criterion, SamplingMode};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::rand::SystemRandom;
use ring::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED,
    ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair as _,
};

/// A short message, like the 20-byte input `openssl speed` signs; ring hashes it first
/// (SHA-256 of 32 bytes: well under a microsecond).
const MESSAGE: [u8; 32] = [0x61; 32];

/// The operations the issuance floor is made of:
///
/// * `ecdsa_p256/{sign,verify}`: ES256 JWS verification and CSR verification (verify); the
///   intermediate's leaf signature and the TLS server's CertificateVerify (sign).
/// * `ecdsa_p384/{sign,verify}`: the root's curve and ES384 account keys, for comparison.
/// * `x25519/keygen_and_agree`: the server's half of a TLS ECDHE with X25519 (rustls's first
///   group with the ring provider): one ephemeral key and one shared secret.
///
/// RSA-2048 verification is `jws_verify/rs256/verify`.
pub(crate) fn signature_primitives(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let mut group = c.benchmark_group("signature_primitives");
    for (name, signing, verification) in [
        (
            "ecdsa_p256",
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &ECDSA_P256_SHA256_FIXED,
        ),
        (
            "ecdsa_p384",
            &ECDSA_P384_SHA384_FIXED_SIGNING,
            &ECDSA_P384_SHA384_FIXED,
        ),
    ] {
        // P-384 takes most of a millisecond: flat sampling keeps it inside the window.
        let mode = if name == "ecdsa_p384" {
            SamplingMode::Flat
        } else {
            SamplingMode::Auto
        };
        group.sampling_mode(mode);
        let key_pair = key_pair(signing, &rng);
        group.bench_function(format!("{name}/sign"), |b| {
            b.iter(|| key_pair.sign(&rng, black_box(&MESSAGE)));
        });
        let signature = key_pair.sign(&rng, &MESSAGE).expect("sign");
        // As basalt verifies: the public key as raw bytes, parsed by each `verify`.
        let public = signature::UnparsedPublicKey::new(verification, key_pair.public_key());
        public
            .verify(&MESSAGE, signature.as_ref())
            .expect("the signature verifies");
        group.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| {
                black_box(&public).verify(black_box(&MESSAGE), black_box(signature.as_ref()))
            });
        });
    }

    // The client's key share is fixed; the server's is fresh for every handshake.
    let peer = EphemeralPrivateKey::generate(&X25519, &rng).expect("X25519 key");
    let peer_public = peer.compute_public_key().expect("X25519 public key");
    group.sampling_mode(SamplingMode::Auto);
    group.bench_function("x25519/keygen_and_agree", |b| {
        b.iter(|| {
            let ours = EphemeralPrivateKey::generate(&X25519, &rng).expect("X25519 key");
            let our_public = ours.compute_public_key().expect("X25519 public key");
            let peer = UnparsedPublicKey::new(&X25519, black_box(peer_public.as_ref()));
            let secret = agreement::agree_ephemeral(ours, &peer, |secret| secret[0]);
            (our_public, secret)
        });
    });
    group.finish();
}

fn key_pair(algorithm: &'static EcdsaSigningAlgorithm, rng: &SystemRandom) -> EcdsaKeyPair {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(algorithm, rng).expect("generate an ECDSA key");
    EcdsaKeyPair::from_pkcs8(algorithm, pkcs8.as_ref(), rng).expect("load the ECDSA key")
}
