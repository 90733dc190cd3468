/** The few libsodium bindings this package uses (sodium-native ships no types of its own). */
declare module "sodium-native" {
  const sodium: {
    readonly crypto_sign_BYTES: number;
    readonly crypto_sign_PUBLICKEYBYTES: number;
    readonly crypto_sign_SECRETKEYBYTES: number;
    /** Memory from libsodium's allocator: guard pages, locked out of swap, zeroed when freed. */
    sodium_malloc(size: number): Buffer;
    sodium_mprotect_readonly(buffer: Buffer): void;
    crypto_sign_seed_keypair(publicKey: Buffer, secretKey: Buffer, seed: Buffer): void;
    crypto_sign_detached(signature: Buffer, message: Uint8Array, secretKey: Buffer): void;
  };
  export default sodium;
}
