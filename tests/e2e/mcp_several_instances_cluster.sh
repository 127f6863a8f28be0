# mcp_several_instances_cluster: mcp_several_instances.sh with its store on a three-master Redis
# Cluster (redis-server --cluster-enabled, redis-cli --cluster create, all on 127.0.0.1): 100
# SDK tool calls through three proxies behind HAProxy, one session; a 20,000-notification call
# survives the death of the proxy serving it, exactly once.
REDIS_CLUSTER=1 . "$(dirname "$0")/mcp_several_instances.sh"
