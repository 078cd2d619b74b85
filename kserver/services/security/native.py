"""Kuzzle 2.x's native API controllers and their actions, as its controllers declare them.

Role definitions are validated against this table (``security.role.unknown_action``)
united with whatever kserver's router serves, so roles written for Kuzzle load
unchanged even for actions kserver does not implement yet. ``ms`` is the
``memoryStorage`` alias.
"""

from __future__ import annotations

from collections.abc import Mapping


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MEMORY_STORAGE = _names(
    """append bitcount bitop bitpos dbsize decr decrby del exists expire expireat flushdb geoadd geodist
    geohash geopos georadius georadiusbymember get getbit getrange getset hdel hexists hget hgetall hincrby
    hincrbyfloat hkeys hlen hmget hmset hscan hset hsetnx hstrlen hvals incr incrby incrbyfloat keys lindex
    linsert llen lpop lpush lpushx lrange lrem lset ltrim mexecute mget mset msetnx object persist pexpire
    pexpireat pfadd pfcount pfmerge ping psetex pttl randomkey rename renamenx rpop rpoplpush rpush rpushx
    sadd scan scard sdiff sdiffstore set setex setnx sinter sinterstore sismember smembers smove sort spop
    srandmember srem sscan strlen sunion sunionstore time touch ttl type zadd zcard zcount zincrby
    zinterstore zlexcount zrange zrangebylex zrangebyscore zrank zrem zremrangebylex zremrangebyrank
    zremrangebyscore zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunionstore"""
)

NATIVE_ACTIONS: Mapping[str, frozenset[str]] = {
    "admin": _names(
        "dump loadFixtures loadMappings loadSecurities refreshIndexCache resetCache resetDatabase "
        "resetSecurity shutdown"
    ),
    "auth": _names(
        "checkRights checkToken createApiKey createMyCredentials createToken credentialsExist deleteApiKey "
        "deleteMyCredentials getCurrentUser getMyCredentials getMyRights getStrategies login logout "
        "refreshToken searchApiKeys updateMyCredentials updateSelf validateMyCredentials"
    ),
    "bulk": _names("import write mWrite deleteByQuery updateByQuery"),
    "cluster": frozenset({"status"}),
    "collection": _names(
        "create delete deleteSpecifications exists getMapping getSettings getSpecifications list refresh "
        "scrollSpecifications searchSpecifications truncate update updateMapping updateSpecifications "
        "validateSpecifications"
    ),
    "debug": _names("nodeVersion enable disable post addListener removeListener"),
    "document": _names(
        "count create createOrReplace delete deleteByQuery deleteFields exists export get mCreate "
        "mCreateOrReplace mDelete mExists mGet mReplace mUpdate mUpsert replace scroll search update "
        "updateByQuery upsert validate"
    ),
    "index": _names("create delete exists list mDelete stats"),
    "realtime": _names("count join list publish subscribe unsubscribe validate"),
    "security": _names(
        "checkRights createApiKey createCredentials createFirstAdmin restrictDefaultRights "
        "createOrReplaceProfile createOrReplaceRole createProfile createRestrictedUser createRole createUser "
        "deleteApiKey deleteCredentials deleteProfile deleteRole deleteUser getAllCredentialFields "
        "getCredentialFields getCredentials getCredentialsById getProfile getProfileMapping getProfileRights "
        "getRole getRoleMapping getUser getUserMapping getUserRights getUserStrategies hasCredentials "
        "mDeleteProfiles mDeleteRoles mDeleteUsers mGetProfiles mGetRoles mGetUsers refresh replaceUser "
        "revokeTokens scrollProfiles scrollUsers searchApiKeys searchProfiles searchRoles searchUsers "
        "searchUsersByCredentials updateCredentials updateProfile updateProfileMapping updateRole "
        "updateRoleMapping updateUser updateUserMapping upsertUser validateCredentials"
    ),
    "server": _names(
        "adminExists capabilities getAllStats getConfig getLastStats getStats healthCheck info metrics now "
        "publicApi openapi"
    ),
    "memoryStorage": _MEMORY_STORAGE,
    "ms": _MEMORY_STORAGE,
}


def known_actions(served: Mapping[str, list[str]]) -> dict[str, frozenset[str]]:
    """Kuzzle's native actions united with the actions a router serves (``Router.actions()``)."""
    merged = {controller: set(actions) for controller, actions in NATIVE_ACTIONS.items()}
    for controller, actions in served.items():
        merged.setdefault(controller, set()).update(actions)
    return {controller: frozenset(actions) for controller, actions in merged.items()}
