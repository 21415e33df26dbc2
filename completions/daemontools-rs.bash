# Bash completion for daemontools-rs: svc, svstat, svwait, svlog, logship.
#
# One file for the five programs. bash-completion loads
# /usr/share/bash-completion/completions/NAME when NAME is first completed;
# `make install` and the Debian package put this file there under each of
# the five names, and sourcing it (from ~/.bashrc, say) works without
# bash-completion too: it uses only bash's own compgen.
#
# A service directory operand completes to directories, and, while the word
# has no `/`, to the services of the scan directories that exist among
# $SVSCANDIR, /service and /etc/service, written out in full
# (`svc -u ss<TAB>` gives /etc/service/sshd).

# Print the scan directories to offer services from, one per line.
_dtools_scandirs()
{
    local d seen=
    for d in "${SVSCANDIR:-}" /service /etc/service; do
        [[ -n $d && -d $d ]] || continue
        # /service is often a link to /etc/service: offer each once.
        local real
        real=$(cd "$d" 2>/dev/null && pwd -P) || continue
        [[ " $seen " == *" $real "* ]] && continue
        seen+=" $real"
        # From inside the scan directory the plain names already appear.
        [[ $real == "$(pwd -P)" ]] && continue
        printf '%s\n' "${d%/}"
    done
}

# COMPREPLY += directories and services matching $1.
_dtools_dirs()
{
    local cur=$1 d s
    local IFS=$'\n'
    COMPREPLY+=($(compgen -d -- "$cur"))
    if [[ $cur != */* ]]; then
        for d in $(_dtools_scandirs); do
            for s in "$d"/"$cur"*; do
                [[ -d $s && ${s##*/} != .* ]] && COMPREPLY+=("$s")
            done
        done
    fi
}

# COMPREPLY += the words of $2 (space separated) that start with $1.
_dtools_words()
{
    local IFS=$' \t\n'
    COMPREPLY+=($(compgen -W "$2" -- "$1"))
}

# svc [-udopchaitkx] dir ...
_dtools_svc()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    COMPREPLY=()
    if [[ $cur == -* ]]; then
        _dtools_words "$cur" '-u -d -o -p -c -h -a -i -t -k -x'
        return
    fi
    compopt -o filenames 2>/dev/null
    _dtools_dirs "$cur"
}

# svstat dir ...: every argument is a directory, as in daemontools.
_dtools_svstat()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    COMPREPLY=()
    compopt -o filenames 2>/dev/null
    _dtools_dirs "$cur"
}

# svwait [-u|-U|-d|-D] [-t ms] [-a|-o] dir ...
_dtools_svwait()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    [[ $prev == -t ]] && return
    if [[ $cur == -* ]]; then
        _dtools_words "$cur" '-u -U -d -D -t -a -o --help --version'
        return
    fi
    compopt -o filenames 2>/dev/null
    _dtools_dirs "$cur"
}

# svlog [-f] [-g regex] [-o format] [-n N] [--since T] [--until T] dir ...
_dtools_svlog()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case $prev in
    -o)
        _dtools_words "$cur" 'local utc rfc3339 epoch raw json'
        return
        ;;
    -g | -n | --since | --until)
        return
        ;;
    esac
    if [[ $cur == -* ]]; then
        _dtools_words "$cur" '-f -g -o -n --since --until --help --version'
        return
    fi
    compopt -o filenames 2>/dev/null
    _dtools_dirs "$cur"
}

# logship [-e] [-p facility.severity] [-H host] [-a app] [-c dir] [-w N] [-m N]
#         [-t secs] [-T secs] [--ca file] [--cert file --key file]
#         [--server-name name] url logdir ...
_dtools_logship()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case $prev in
    -p)
        local fac='kern user mail daemon auth syslog lpr news uucp cron authpriv ftp ntp security console solaris-cron local0 local1 local2 local3 local4 local5 local6 local7'
        local sev='emerg alert crit err warning notice info debug'
        if [[ $cur == *.* ]]; then
            local f=${cur%%.*} s
            for s in $sev; do
                [[ $f.$s == "$cur"* ]] && COMPREPLY+=("$f.$s")
            done
        else
            local f
            for f in $fac; do
                [[ $f == "$cur"* ]] && COMPREPLY+=("$f.")
            done
            compopt -o nospace 2>/dev/null
        fi
        return
        ;;
    -c)
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -d -- "$cur"))
        return
        ;;
    --ca | --cert | --key)
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    -H | -a | -w | -m | -t | -T | --ack-timeout | --connect-timeout | --server-name)
        return
        ;;
    esac
    # Is the url already given? Count the operands before this word.
    local i w operands=0 optsdone=
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ -z $optsdone && $w == -- ]]; then
            optsdone=1
        elif [[ -z $optsdone && ($w == -[pHacwmtT] || $w == --ack-timeout || $w == --connect-timeout ||
            $w == --ca || $w == --cert || $w == --key || $w == --server-name) ]]; then
            ((i++))
        elif [[ -z $optsdone && $w == -?* ]]; then
            :
        else
            ((operands++))
        fi
    done
    if [[ -z $optsdone && $cur == -* ]]; then
        _dtools_words "$cur" '-e -p -H -a -c -w -m -t -T --ack-timeout --connect-timeout --ca --cert --key --server-name --help --version'
        return
    fi
    if ((operands == 0)); then
        _dtools_words "$cur" 'relp:// tcp:// tcp+lf:// relp+tls:// tls://'
        compopt -o nospace 2>/dev/null
        return
    fi
    compopt -o filenames 2>/dev/null
    _dtools_dirs "$cur"
}

complete -F _dtools_svc svc
complete -F _dtools_svstat svstat
complete -F _dtools_svwait svwait
complete -F _dtools_svlog svlog
complete -F _dtools_logship logship
