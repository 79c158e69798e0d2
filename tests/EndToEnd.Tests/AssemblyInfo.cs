// One GPU box, one nginx, one shim at a time: the machine has 2 cores shared with other developers, and the
// scenarios measure time, which parallel classes would distort.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
