{{header}}
#
# Takes effect at the next login (pam_limits). Check with: ulimit -n; ulimit -u
# nofile can only be set up to fs.nr_open ({{nrOpen}} after the sysctl file is applied).
#
# <domain>  <type>  <item>   <value>
{{entries}}
