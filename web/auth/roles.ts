/**
 * Roles and what each may do. Checked on the server for every route (a hidden button is not access
 * control): admin ⊃ shifter ⊃ viewer.
 * - viewer: every page read-only, downloads.
 * - shifter: + create and update shifts, manage the shifter list.
 * - admin: + manage users (create, role, password reset, disable).
 */
export const ROLES = ['admin', 'shifter', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export type Permission = 'view' | 'shifts.edit' | 'shifters.manage' | 'users.manage';

const GRANTS: Record<Role, readonly Permission[]> = {
  viewer: ['view'],
  shifter: ['view', 'shifts.edit', 'shifters.manage'],
  admin: ['view', 'shifts.edit', 'shifters.manage', 'users.manage'],
};

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

export function can(role: Role | null | undefined, perm: Permission): boolean {
  return !!role && isRole(role) && GRANTS[role].includes(perm);
}

export const USERNAME_RE = /^[a-z][a-z0-9._-]{1,31}$/;
