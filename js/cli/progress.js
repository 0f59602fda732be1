// Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise (CI logs,
// pipes), at each phase and every tenth of the work.

export function progressReporter(stream = process.stderr) {
  const tty = Boolean(stream.isTTY);
  let lastTenth = -1;
  let phase = '';
  const line = (text) => stream.write(tty ? `\r\x1b[2K${text}` : `${text}\n`);
  return {
    onEvent(e) {
      if (e.type === 'phase') {
        if (tty && phase) stream.write('\n');
        phase = e.phase;
        lastTenth = -1;
        if (e.phase !== 'done') line(`${e.phase}…`);
        return;
      }
      if (e.total === undefined || e.total === null) {
        if (tty) line(`${e.phase}: ${e.done} users read`);
        else if (Math.floor(Math.log2(e.done + 1)) !== lastTenth) {
          lastTenth = Math.floor(Math.log2(e.done + 1));
          line(`${e.phase}: ${e.done} users read`);
        }
        return;
      }
      const share = e.total ? e.done / e.total : 1;
      if (tty) {
        const width = 30;
        const filled = Math.round(share * width);
        line(`${e.phase} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.floor(share * 100)}% ${e.done}/${e.total}`);
      } else {
        const tenth = Math.floor(share * 10);
        if (tenth !== lastTenth) {
          lastTenth = tenth;
          line(`${e.phase}: ${e.done}/${e.total} (${tenth * 10}%)`);
        }
      }
    },
    end() {
      if (tty && phase) stream.write('\n');
    },
  };
}
