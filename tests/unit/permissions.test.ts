import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { can, PERMISSIONS, permissionTableMarkdown, ROLES } from '../../lib/http/permissions.js';

describe('the role-by-action table', () => {
  it('is the one in the README (npm run docs:permissions regenerates it)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(permissionTableMarkdown());
  });

  it('states the product rules: viewers read only, agents delete nothing, the ladder only adds rights', () => {
    for (const [action, p] of Object.entries(PERMISSIONS)) {
      // A viewer's one write is their own profile (PATCH /api/me): it is theirs, not the organization's.
      if (!action.endsWith('.read') && action !== 'profile.update') expect(can('viewer', action as keyof typeof PERMISSIONS), action).toBe(false);
      if (action.endsWith('.delete') || action.endsWith('.manage') || action === 'jobs.admin' || action === 'org.update') {
        expect(can('agent', action as keyof typeof PERMISSIONS), action).toBe(false);
      }
      // Every right a role has, every role above it has too.
      const lowest = Math.max(...p.roles.map((r) => ROLES.indexOf(r)));
      expect(p.roles).toEqual(ROLES.slice(0, lowest + 1));
    }
    expect(PERMISSIONS['profile.update'].roles).toEqual(ROLES);
    expect(PERMISSIONS['teams.manage'].roles).toContain('manager');
    expect(PERMISSIONS['channels.manage'].roles).not.toContain('manager');
    expect(PERMISSIONS['owners.manage'].roles).toEqual(['owner']);
    expect(PERMISSIONS['billing.manage'].roles).toEqual(['owner']);
  });
});
