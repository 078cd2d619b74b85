"""The security model: roles, profiles, users, rights, searches and the bootstrap data.

Kuzzle semantics (see ``protocol-notes`` §6, §7) on the storage port. Users are
written only by ``users.Users`` (and by the auth services for credential changes);
roles and profiles only by ``roles.Roles`` and ``profiles.Profiles``, which keep
their in-memory caches coherent on every write.
"""
