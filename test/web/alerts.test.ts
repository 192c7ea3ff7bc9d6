/** The alerts page rendered from a real catalog: firing then cleared, subjects and affected subjects linked, long lists cut. */
import t from 'tap';
import { alertsPage, subjectLink } from '../../src/web/alerts.js';
import { seeded } from '../catalog/seed.js';

t.test('firing first, then cleared; every subject with a page is a link to it', async (t) => {
  const { catalog, images } = seeded(t);
  const affects = [{ kind: 'vm', id: 2 }, { kind: 'host', id: 'node1' }, ...Array.from({ length: 23 }, (_, i) => ({ kind: 'image', id: i + 1 }))];
  catalog.raiseAlert({ rule: 'free_low', subject: { kind: 'datastore', id: images.id }, severity: 'warning', message: 'free under 20 %', affects });
  catalog.raiseAlert({ rule: 'image_failed', subject: { kind: 'image', id: 7 }, severity: 'major', message: '<b>bad</b>' });
  catalog.clearAlert('image_failed', { kind: 'image', id: 7 });
  const text = alertsPage(catalog);
  const firing = text.indexOf('Firing (1)');
  const cleared = text.indexOf('Cleared (1)');
  t.ok(firing > 0 && cleared > firing, 'firing, then cleared, each counted');
  t.match(text, `<a href="/datastores/${images.id}">datastore ${images.id}</a>`, 'the subject linked');
  t.match(text, '<a href="/vms/2">vm 2</a>, host node1, <a href="/images/1">image 1</a>', 'affected VMs and images linked, a host named');
  t.match(text, '<a href="/images/18">image 18</a> <span class="muted">and 5 more</span>', 'twenty named, the rest counted');
  t.notMatch(text, 'href="/images/19"');
  t.match(text, '&lt;b&gt;bad&lt;/b&gt;', 'messages are text');
  t.equal(subjectLink({ kind: 'vm', id: 'a/b' }).text, '<a href="/vms/a%2Fb">vm a/b</a>', 'ids are encoded in the path');
});

t.test('no alert at all', async (t) => {
  const { catalog } = seeded(t);
  t.match(alertsPage(catalog), 'No alert has been raised.');
});
