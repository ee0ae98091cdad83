/** The CPU core (build/cpu.wasm), base64-encoded; generated at build time by scripts/embed-wasm.mjs. */
export declare const cpuWasmBase64: string;
/** Minimum size, in 64 KiB pages, of the memory the core imports (its constant data). */
export declare const cpuMemoryPages: number;
