// A platform's user export as CSV, turned into the normalised JSON array the planner reads
// (target format "normalised": [{id, ssoId, employeeId, studentId, email, firstName, lastName,
// active, admin, managed}]). The planner reads platform list pages as JSON only, so the preview
// converts a CSV export here, in its worker, into one JSON text that crosses into wasm as bytes.
//
// Header mapping (headers compared without case, spaces, "_" or "-"; other columns ignored):
//
//   id          id, platformId, userId            required: the platform's user ID
//   ssoId       ssoId, sso
//   employeeId  employeeId, employeeNumber
//   studentId   studentId
//   email       email, emailAddress, primaryEmail
//   firstName   firstName, givenName, first
//   lastName    lastName, familyName, surname, last
//   active      active, status                    true/false, t/f, yes/no, y/n, 1/0, active/inactive
//   admin       admin, isAdmin                    true/false...; default false
//   managed     managed                           true/false...; default true
//   externalId  externalId                        Learnifier/SCIM: the primary matching key's value;
//                                                 a user without one was made by hand, so it is
//                                                 not managed (never touched by orphan handling)
//   hardLock    hardLock                          Learnifier: a locked user is inactive
//
// An empty cell is absent (never an empty value). Row numbers in errors count the header as 1.
import { LearnerSyncError } from '../errors.js';

const FIELDS = {
  id: ['id', 'platformid', 'userid'],
  ssoId: ['ssoid', 'sso'],
  employeeId: ['employeeid', 'employeenumber'],
  studentId: ['studentid'],
  email: ['email', 'emailaddress', 'primaryemail'],
  firstName: ['firstname', 'givenname', 'first'],
  lastName: ['lastname', 'familyname', 'surname', 'last'],
  active: ['active', 'status'],
  admin: ['admin', 'isadmin'],
  managed: ['managed'],
  externalId: ['externalid'],
  hardLock: ['hardlock'],
};
const TEXT_FIELDS = ['id', 'ssoId', 'employeeId', 'studentId', 'email', 'firstName', 'lastName'];
const TRUE = new Set(['true', 't', 'yes', 'y', '1', 'active']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0', 'inactive']);

/** Whether a platform file is a JSON list page (its first character is `{` or `[`), not CSV. */
export function isJsonPage(bytes) {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x7b || bytes[i] === 0x5b;
}

/**
 * Splits CSV text (RFC 4180: quoted cells, "" inside quotes, CRLF or LF, a leading BOM) into
 * records, calling `onRow(cells, row)` for each non-empty one; `row` counts records, the header
 * being 1 (a line break inside quotes does not start a record).
 */
export function readCsv(text, onRow) {
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let row = 0;
  while (i < n) {
    const cells = [];
    for (;;) {
      let cell;
      if (text.charCodeAt(i) === 0x22) {
        let out = '';
        let from = i + 1;
        for (;;) {
          const q = text.indexOf('"', from);
          if (q < 0) throw new Error(`record ${row + 1}: a quoted cell is never closed`);
          out += text.slice(from, q);
          if (text.charCodeAt(q + 1) === 0x22) {
            out += '"';
            from = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        cell = out;
        const c = text.charCodeAt(i);
        if (i < n && c !== 0x2c && c !== 0x0a && c !== 0x0d) throw new Error(`record ${row + 1}: text after a closing quote`);
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 0x2c || c === 0x0a || c === 0x0d) break;
          j++;
        }
        cell = text.slice(i, j);
        i = j;
      }
      cells.push(cell);
      const c = text.charCodeAt(i);
      if (c === 0x2c) {
        i++;
        continue;
      }
      if (c === 0x0d) i++;
      if (text.charCodeAt(i) === 0x0a) i++;
      break;
    }
    row++;
    if (!(cells.length === 1 && cells[0] === '')) onRow(cells, row);
  }
}

function parseBool(raw) {
  const v = raw.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return undefined;
}

const squash = (h) => h.toLowerCase().replace(/[\s_-]+/g, '');

/**
 * Converts a platform CSV export to the normalised JSON text. `primary` is the primary
 * matching key (the field an `externalId` column holds); `label` names the file in errors.
 * @throws LearnerSyncError MALFORMED_PAGE
 */
export function platformCsvToNormalised(text, { primary = 'ssoId', label = '' } = {}) {
  const fail = (msg) => {
    throw new LearnerSyncError('MALFORMED_PAGE', `${label || 'platform CSV'}: ${msg}`, { label });
  };
  let columns = null;
  let width = 0;
  const parts = [];
  const onRow = (cells, row) => {
    if (!columns) {
      columns = [];
      width = cells.length;
      for (const [field, names] of Object.entries(FIELDS)) {
        const at = cells.findIndex((h) => names.includes(squash(h)));
        if (at >= 0) columns.push([field, at]);
      }
      if (!columns.some(([f]) => f === 'id')) fail('no id column (one of id, platformId, userId) in the header row');
      return;
    }
    if (cells.length !== width) fail(`row ${row}: ${cells.length} cells, the header has ${width}`);
    const user = {};
    let external;
    for (const [field, at] of columns) {
      const raw = cells[at].trim();
      if (field === 'externalId') {
        external = raw;
        if (raw) user[primary] = raw;
      } else if (TEXT_FIELDS.includes(field)) {
        if (raw) user[field] = raw;
      } else if (raw) {
        const b = parseBool(raw);
        if (b === undefined) fail(`row ${row}: ${field} ${JSON.stringify(raw)} is not true or false`);
        if (field === 'hardLock') {
          if (b) user.active = false;
        } else {
          user[field] = b;
        }
      }
    }
    if (!user.id) fail(`row ${row}: no id`);
    if (external === '' && user.managed === undefined) user.managed = false;
    parts.push(JSON.stringify(user));
  };
  try {
    readCsv(text, onRow);
  } catch (e) {
    if (e instanceof LearnerSyncError) throw e;
    fail(`not CSV: ${e.message}`);
  }
  if (!columns) fail('empty: no header row');
  return `[${parts.join(',')}]`;
}
