/** The CPU core (build/cpu.wasm), base64-encoded; generated at build time by scripts/embed-wasm.mjs. */
export declare const cpuWasmBase64: string;
