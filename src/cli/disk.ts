/**
 * `colinux disk …`: manage disk images and copy-on-write overlays.
 *
 *   colinux disk create <file> <size>     sparse raw image (size: 4G, 512M, …)
 *   colinux disk info <file>              raw image, block device or overlay
 *   colinux disk commit <overlay|image>   write the overlay into its base, delete it
 *   colinux disk discard <overlay|image>  delete the overlay (its changes are lost)
 *
 * For commit and discard, an image whose overlay is `<image>.cow` (what
 * `cobdN=<image>,cow` makes) may be named instead of the overlay.
 */
import {
  DiskError,
  commitOverlay,
  createImage,
  diskInfo,
  discardOverlay,
  formatSize,
  parseSize,
  resolveOverlay,
} from '../backends/block/index.js';

export const DISK_USAGE = [
  'usage: colinux disk create <file> <size>     make a sparse raw image (size e.g. 4G, 512M)',
  '       colinux disk info <file>              describe an image, block device or overlay',
  '       colinux disk commit <overlay|image>   write an overlay into its base image, then delete it',
  '       colinux disk discard <overlay|image>  delete an overlay, dropping its changes',
].join('\n');

/** Run `colinux disk <argv>`; returns the exit status (0, 1 I/O failure, 2 usage). */
export async function cmdDisk(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const [sub, ...args] = argv;
  const usage = (msg: string): number => {
    err(`colinux: ${msg}\n${DISK_USAGE}\n`);
    return 2;
  };
  try {
    switch (sub) {
      case 'create': {
        if (args.length !== 2) return usage('disk create needs a file and a size');
        const size = parseSize(args[1]!);
        if (size === undefined) return usage(`"${args[1]}" is not a size; write e.g. 4G or 512M`);
        await createImage(args[0]!, size);
        out(`created ${args[0]} (${formatSize(size)}, sparse)\n`);
        return 0;
      }
      case 'info': {
        if (args.length !== 1) return usage('disk info needs one file');
        const i = await diskInfo(args[0]!);
        out(`${i.file}: ${i.kind}, ${formatSize(i.size)} (${i.size} bytes)\n`);
        if (i.kind === 'overlay') {
          out(`base: ${i.base}\n`);
          out(
            `changed: ${formatSize(i.changedBytes ?? 0)} in ${formatSize(i.blockSize ?? 0)} blocks\n`,
          );
          if (i.committing) out('state: a commit was interrupted; run colinux disk commit again\n');
          if (i.problem) out(`problem: ${i.problem}\n`);
        }
        return 0;
      }
      case 'commit': {
        if (args.length !== 1) return usage('disk commit needs the overlay (or its image)');
        const ov = resolveOverlay(args[0]!);
        const bytes = await commitOverlay(ov);
        out(`committed ${formatSize(bytes)} from ${ov} into its base; the overlay is deleted\n`);
        return 0;
      }
      case 'discard': {
        if (args.length !== 1) return usage('disk discard needs the overlay (or its image)');
        const ov = resolveOverlay(args[0]!);
        discardOverlay(ov);
        out(`discarded ${ov}\n`);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(DISK_USAGE + '\n');
        return sub === undefined ? 2 : 0;
      default:
        return usage(`unknown disk command "${sub}"`);
    }
  } catch (e) {
    if (e instanceof DiskError) {
      err(`colinux: ${e.message}\n`);
      return 2;
    }
    err(`colinux: ${(e as Error).message}\n`);
    return 1;
  }
}
