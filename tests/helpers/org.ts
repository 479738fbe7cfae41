// A fresh organization for one test: its own members (one per role, with Supabase Auth accounts),
// email domain and tokens. Routes commit their own transactions, so a test that changes what others
// read (members, roles, counts, settings) works in an organization nobody else sees, and the suite
// passes in any order.
import { randomUUID } from 'node:crypto';
import type { Sql } from '../../lib/db/client.js';
import { signAccessToken } from '../../lib/http/auth.js';
import { ROLES, type Role } from '../../lib/http/permissions.js';
import { call, json, type CallOptions } from './api.js';

export interface TestOrg {
  id: string;
  name: string;
  /** The organization's own email domain (e.g. `o-1a2b3c4d.example`). */
  domain: string;
  users: Record<Role, { id: string; email: string; name: string }>;
  token(role: Role): Promise<string>;
  memberId(role: Role): Promise<string>;
  /** Calls the API as a member of this organization (role `agent` unless `as` says otherwise). */
  json<T = any>(
    method: string,
    path: string,
    options?: Omit<CallOptions, 'as' | 'token'> & { as?: Role },
  ): Promise<{ status: number; body: T; headers: Headers }>;
  call(method: string, path: string, options?: Omit<CallOptions, 'as' | 'token'> & { as?: Role }): Promise<Response>;
}

export async function newOrganization(sql: Sql, options: { timezone?: string } = {}): Promise<TestOrg> {
  const tag = randomUUID().slice(0, 8);
  const id = randomUUID();
  const name = `Test Forwarding ${tag}`;
  const domain = `o-${tag}.example`;
  const users = Object.fromEntries(
    ROLES.map((role) => [role, { id: randomUUID(), email: `${role}@${domain}`, name: `${role[0]!.toUpperCase()}${role.slice(1)} ${tag}` }]),
  ) as TestOrg['users'];
  await sql.begin(async (tx) => {
    await tx`insert into app.organizations (id, name, slug, timezone) values (${id}, ${name}, ${`test-${tag}`}, ${options.timezone ?? 'Asia/Kolkata'})`;
    await tx`insert into app.organization_domains (org_id, domain, verified) values (${id}, ${domain}, true)`;
    for (const role of ROLES) {
      const u = users[role];
      await tx`insert into auth.users (id, email, email_confirmed_at, created_at, updated_at) values (${u.id}, ${u.email}, now(), now(), now())`;
      await tx`insert into app.members (org_id, user_id, role, display_name, email) values (${id}, ${u.id}, ${role}, ${u.name}, ${u.email})`;
    }
  });
  const tokens = new Map<Role, Promise<string>>();
  const token = (role: Role) => {
    let t = tokens.get(role);
    if (!t) tokens.set(role, (t = signAccessToken(users[role])));
    return t;
  };
  return {
    id,
    name,
    domain,
    users,
    token,
    async memberId(role) {
      const [m] = await sql<{ id: string }[]>`select id from app.members where org_id = ${id} and user_id = ${users[role].id}`;
      return m!.id;
    },
    async json(method, path, { as = 'agent', ...rest } = {}) {
      return json(method, path, { ...rest, token: await token(as) });
    },
    async call(method, path, { as = 'agent', ...rest } = {}) {
      return call(method, path, { ...rest, token: await token(as) });
    },
  };
}
