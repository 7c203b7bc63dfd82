"""Users, the Redis ACL rule language, registry policies and the per-request permission checks.

Modules, each importing only the ones listed before it (and lower floors: the command table, session, registry,
replies, errors, backends):

* ``model``: User, actions, Statement, Condition (the words).
* ``rules``: the Redis ACL rule language: RuleSet, categories, selectors, ``apply_user_rules``, ``describe_user``.
* ``users``: ``Auth`` (``app.auth``): the user table, login, the default user, failed-login delay and log.
* ``engine``: ``compile_user`` into ``Permissions`` (``sess.permissions``): the hot-path check, key filters, DRYRUN.
* ``runtime``: ``Security`` (``app.security``): refresh/delete users at runtime, requirepass, ACL LOG.
* ``loading``: registry users and policies, the aclfile, ``configure_security`` at startup.
"""
