# call.gp — how layerlab runs every other script here, without building
# gnuplot code from a user's strings (lib/plot.c; DESIGN.md "Input from outside").
#
#   gnuplot -c plots/call.gp SCRIPT OUTFILE SPEC [VALUE ...]
#
# SPEC lists the variables SCRIPT reads, separated by spaces: a word NAME
# takes the next VALUE argument, as a string, never parsed as gnuplot code; a
# word NAME=NUMBER is a number lib/plot.c formatted itself. The only code run
# here is "NAME = ARGV[k]" and "NAME=NUMBER", from identifiers and numbers
# that lib/plot.c checked. Paths arrive as /... or ./..., so none can start
# with gnuplot's '<' (read a command's output) or '|' (write to a command).
# gnuplot 5.4 passes at most 9 arguments to a script: SCRIPT, OUTFILE, SPEC
# and up to 6 string VALUEs.

# Its own variables start with call_gp_, a prefix lib/plot.c refuses in names.
outfile = ARG2
call_gp_arg = 4
do for [call_gp_i = 1:words(ARG3)] {
    if (strstrt(word(ARG3, call_gp_i), "=") > 0) {
        eval word(ARG3, call_gp_i)
    } else {
        eval sprintf("%s = ARGV[%d]", word(ARG3, call_gp_i), call_gp_arg)
        call_gp_arg = call_gp_arg + 1
    }
}
load ARG1
