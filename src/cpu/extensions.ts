// The extensions this machine lacks (the `isa=` setting): their
// instructions are illegal, as on a CPU without them. A machine-wide
// setting, not hart state. The bits and which instruction belongs to which
// extension are generated from the one table (build/decoder.ts: EXT_*,
// extensionOf; src/isa/instructions.ts SWITCHABLE_EXTENSIONS).

import { Op, extensionOf } from '../../build/decoder';

export let disabledExtensions: u32 = 0;

export function setDisabledExtensions(mask: u32): void {
  disabledExtensions = mask;
}

/** Does the machine lack extension `bit` (an EXT_* of build/decoder.ts)? */
@inline export function lacks(bit: u32): bool {
  return (disabledExtensions & bit) != 0;
}

/** Is `op` an instruction of an extension the machine lacks? */
@inline export function lacking(op: Op): bool {
  return disabledExtensions != 0 && lacks(extensionOf(op));
}
