# Sourced by the scripts in scripts/ that start servers.
# Usage: free_port VAR   sets VAR to a loopback port that is free now and that this script
# has not handed out before. Binding port 0 finds a port free at that moment only, and the
# system may give the same port to the next such bind, so two servers started one after the
# other could otherwise be given one port. (It sets a variable rather than printing: a
# command substitution would run in a subshell and forget what was handed out.)
handed_out_ports=" "
free_port() {
    local picked
    for _ in $(seq 100); do
        picked=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        if [[ "$handed_out_ports" != *" $picked "* ]]; then
            handed_out_ports+="$picked "
            printf -v "$1" '%s' "$picked"
            return 0
        fi
    done
    echo "no loopback port left that this script has not handed out" >&2
    return 1
}
