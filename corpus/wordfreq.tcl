set d [dict create]; foreach f [glob /usr/include/*.h] { set fh [open $f]; set t [read $fh]; close $fh; foreach w [regexp -all -inline {\w+} $t] { dict incr d $w } }; puts [dict size $d]
