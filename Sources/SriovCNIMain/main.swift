// The `sriov-cni` executable (issue 12): placeholder until the plugin lands.
#if canImport(Glibc)
import Glibc
#endif

exit(1)
