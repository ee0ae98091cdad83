// Functions the host (JavaScript) provides to the core. Device accesses are
// split into at most 4-byte pieces so no BigInt crosses the boundary on the
// MMIO path.

@external("env", "mmioRead")
export declare function mmioRead(addr: u32, size: u32): u32;

@external("env", "mmioWrite")
export declare function mmioWrite(addr: u32, size: u32, value: u32): void;

// Current time in timebase ticks (10 MHz), as a float (exact below 2^53).
@external("env", "hostTime")
export declare function hostTime(): f64;
