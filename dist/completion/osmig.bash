# bash completion for osmig. The candidates come from the binary itself
# (`osmig __complete WORDS... CURRENT`): commands, subcommands and options
# as its --help texts name them, task ids and snapshot set ids from the
# store. Where it offers nothing (paths, instance URIs), bash completes
# file names.
_osmig() {
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null; then
        _get_comp_words_by_ref -n =: cur words cword
    else
        cur=${COMP_WORDS[COMP_CWORD]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local IFS=$'\n'
    COMPREPLY=($("${words[0]}" __complete "${words[@]:1:cword-1}" "$cur" 2>/dev/null))
}
complete -o default -o nosort -F _osmig osmig
