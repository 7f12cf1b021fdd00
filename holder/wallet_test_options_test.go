package holder

import "github.com/ssi-project/ssi/internal/oid4vci"

// walletTestOptions let the holder reach test issuers on loopback over
// plain HTTP.
func walletTestOptions() oid4vci.Options {
	return oid4vci.Options{AllowLoopback: true, AllowHTTP: true}
}
