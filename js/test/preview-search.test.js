// The preview's search (js/preview/search.js): without case and without accents (issue 12
// item 8), over every text of an action, the platform user's values included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fold, searchText } from '../preview/search.js';

test('a search without accents finds a name with them, in either Unicode form', () => {
  const composed = { action: 'update', key: '33', platformId: 'dek', user: { firstName: 'Garc\u00eda', lastName: 'S\u00f6dert\u00e4lje' }, changes: {} };
  const decomposed = { action: 'deactivate', key: '34', platformId: 'zak', user: { lastName: 'Garci\u0301a' } };
  for (const a of [composed, decomposed]) {
    assert.ok(searchText(a).includes(fold('garcia')), JSON.stringify(a));
    assert.ok(searchText(a).includes(fold('GARCÍA')), JSON.stringify(a));
  }
  assert.ok(searchText(composed).includes(fold('sodertalje')));
  assert.ok(!searchText(composed).includes(fold('garcie')));
});

test('an update row is found by the name of its platform user, not only by what changes', () => {
  const a = { action: 'update', key: '33', platformId: 'dek', user: { email: 'geoff@example.org', firstName: 'Geoff' }, changes: { lastName: { from: 'Smith', to: 'Smith-Evans' } } };
  assert.ok(searchText(a).includes(fold('geoff')));
  assert.ok(searchText(a).includes(fold('smith-evans')));
});
