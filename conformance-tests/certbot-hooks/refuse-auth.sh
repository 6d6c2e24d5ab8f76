#!/usr/bin/env bash
# certbot --manual-auth-hook for runs that must not need any validation (reused
# authorizations, a deactivated account): records the call in CERTBOT_HOOK_LOG and fails, so
# certbot cannot complete a challenge through it.
echo "refused ${CERTBOT_DOMAIN:-?} ${CERTBOT_VALIDATION:-?}" >>"${CERTBOT_HOOK_LOG:-/dev/null}"
echo "refuse-auth.sh: no challenge should have been asked for ${CERTBOT_DOMAIN:-?}" >&2
exit 1
