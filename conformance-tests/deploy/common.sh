# Shared by the deploy parts (sourced after ../lib.sh): podman as it works on the test
# machines, and the main configuration of a test's own nginx.

# podman on these machines: the default runtime crun fails (hybrid cgroups v1, and it cannot
# apply podman's default rlimits), while runc with explicit nofile/nproc limits works. Every
# podman call goes through this function; `build` and `run` get the limits.
pod() {
    local command=$1
    shift
    case $command in
        build | run) podman --runtime runc "$command" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@" ;;
        *) podman --runtime runc "$command" "$@" ;;
    esac
}

# Prints the main configuration of a test's nginx rooted at NGX_DIR: its own pid file, error
# log (at LEVEL), access log and temporary paths under NGX_DIR, and the sites in
# NGX_DIR/sites/*.conf; anything on stdin goes into the http block after them.
nginx_main_conf() {
    local ngx=$1 level=$2
    cat <<CONF
# The test's nginx: its own prefix, pid file and logs under $ngx.
pid $ngx/nginx.pid;
error_log $ngx/error.log $level;
worker_processes 1;
events { worker_connections 64; }
http {
    access_log $ngx/access.log;
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    include $ngx/sites/*.conf;
$(cat)
}
CONF
}

# The pid of the test's nginx (from NGX_DIR/nginx.pid, with $NGX set by the part).
nginx_pid() { cat "$NGX/nginx.pid" 2>/dev/null; }
# Stops the test's nginx: graceful QUIT, then KILL after 5 s.
stop_nginx() {
    local pid
    pid=$(nginx_pid) || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
