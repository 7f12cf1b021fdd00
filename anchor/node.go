package anchor

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	"github.com/cometbft/cometbft/rpc/client/local"
	"github.com/cometbft/cometbft/types"

	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/trust"
)

// settingsFile is our per-node configuration, in <home>/config. The node is
// configured in code from it; CometBFT's config.toml is not used.
const settingsFile = "ssi-node.json"

// maxBlockBytes caps a block at a few full batch transactions.
const maxBlockBytes = MaxTxBytes + 64<<10 // one largest transaction fits

// Settings are the per-node settings Init writes and StartNode reads.
type Settings struct {
	Moniker         string `json:"moniker"`
	ChainID         string `json:"chain_id"`
	P2PAddress      string `json:"p2p_address"`      // tcp://127.0.0.1:PORT
	RPCAddress      string `json:"rpc_address"`      // tcp://127.0.0.1:PORT, or "" for no RPC server
	PersistentPeers string `json:"persistent_peers"` // id@host:port,…
	// Block timing, in milliseconds.
	TimeoutProposeMS int `json:"timeout_propose_ms"`
	TimeoutCommitMS  int `json:"timeout_commit_ms"`
	// EmptyBlockIntervalMS: with no transactions, a block is still made at
	// least this often, so a halted chain is told apart from an idle one.
	EmptyBlockIntervalMS int `json:"empty_block_interval_ms"`
	// GossipMS lowers p2p.flush_throttle_timeout and the consensus gossip
	// sleeps (100 ms by default) for fast multi-validator blocks.
	GossipMS int `json:"gossip_ms"`
	// MempoolSize caps the transactions waiting in the mempool (0: 5000).
	// When it is full, submitters get ErrMempoolFull and must back off.
	MempoolSize int `json:"mempool_size,omitempty"`
}

// InitOptions configure Init.
type InitOptions struct {
	ChainID string // default "ssi-ledger"
	// BasePort: node i listens for p2p on BasePort+2i and RPC on
	// BasePort+2i+1. 0 picks free 127.0.0.1 ports.
	BasePort int
	// RPC starts the CometBFT RPC server on each node (for `ssi ledger
	// node`); embedded nodes talk through the in-process client instead.
	RPC bool
	// Operators are the genesis allow-list. At least one is required.
	Operators []WriterKey
}

// Init writes n validator homes, dir/node0 … dir/node<n-1>, sharing one
// genesis, ready to run on 127.0.0.1. It refuses to overwrite a home.
func Init(dir string, n int, opts InitOptions) ([]string, error) {
	if n < 1 || n > 64 {
		return nil, fmt.Errorf("the number of validators must be 1 to 64, not %d", n)
	}
	if len(opts.Operators) == 0 {
		return nil, errors.New("the genesis needs at least one operator key")
	}
	for i := range opts.Operators {
		if _, err := opts.Operators[i].id(); err != nil {
			return nil, fmt.Errorf("operator key %d: %w", i, err)
		}
	}
	if opts.ChainID == "" {
		opts.ChainID = "ssi-ledger"
	}
	ports, err := pickPorts(2*n, opts.BasePort)
	if err != nil {
		return nil, err
	}
	homes := make([]string, n)
	var vals []types.GenesisValidator
	var peers []string
	for i := range homes {
		home := filepath.Join(dir, "node"+strconv.Itoa(i))
		homes[i] = home
		if _, err := os.Stat(filepath.Join(home, "config", "genesis.json")); err == nil {
			return nil, fmt.Errorf("node %d is already initialised", i)
		}
		c := cfg.DefaultConfig()
		c.SetRoot(home)
		for _, d := range []string{filepath.Join(home, "config"), filepath.Join(home, "data")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return nil, fmt.Errorf("creating the node home: %w", err)
			}
		}
		pv := privval.GenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
		pv.Save()
		nk, err := p2p.LoadOrGenNodeKey(c.NodeKeyFile())
		if err != nil {
			return nil, fmt.Errorf("creating the node key: %w", err)
		}
		pub, err := pv.GetPubKey()
		if err != nil {
			return nil, fmt.Errorf("reading the validator key: %w", err)
		}
		vals = append(vals, types.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: 10, Name: "node" + strconv.Itoa(i)})
		peers = append(peers, p2p.IDAddressString(nk.ID(), fmt.Sprintf("127.0.0.1:%d", ports[2*i])))
	}
	appState, err := json.Marshal(GenesisState{Operators: opts.Operators})
	if err != nil {
		return nil, fmt.Errorf("encoding the genesis app state: %w", err)
	}
	params := types.DefaultConsensusParams()
	// Small blocks travel and commit within the propose timeout; a full
	// mempool drains over several fast blocks instead of one slow one.
	params.Block.MaxBytes = maxBlockBytes
	gen := &types.GenesisDoc{
		ChainID:         opts.ChainID,
		GenesisTime:     time.Now().UTC(),
		ConsensusParams: params,
		Validators:      vals,
		AppState:        appState,
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("validating the genesis: %w", err)
	}
	for i, home := range homes {
		c := cfg.DefaultConfig()
		c.SetRoot(home)
		if err := gen.SaveAs(c.GenesisFile()); err != nil {
			return nil, fmt.Errorf("writing the genesis: %w", err)
		}
		s := Settings{
			Moniker:              "node" + strconv.Itoa(i),
			ChainID:              opts.ChainID,
			P2PAddress:           fmt.Sprintf("tcp://127.0.0.1:%d", ports[2*i]),
			TimeoutProposeMS:     1000,
			TimeoutCommitMS:      10,
			EmptyBlockIntervalMS: 1000,
		}
		if opts.RPC {
			s.RPCAddress = fmt.Sprintf("tcp://127.0.0.1:%d", ports[2*i+1])
		}
		if n > 1 {
			var others []string
			for j, p := range peers {
				if j != i {
					others = append(others, p)
				}
			}
			s.PersistentPeers = strings.Join(others, ",")
			s.TimeoutProposeMS, s.TimeoutCommitMS, s.GossipMS = 1000, 50, 5
		}
		if err := WriteSettings(home, s); err != nil {
			return nil, err
		}
	}
	return homes, nil
}

// WriteSettings replaces the node settings in home.
func WriteSettings(home string, s Settings) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the node settings: %w", err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", settingsFile), b, 0o600); err != nil {
		return fmt.Errorf("writing the node settings: %w", err)
	}
	return nil
}

// ReadSettings reads the node settings in home.
func ReadSettings(home string) (Settings, error) {
	var s Settings
	b, err := os.ReadFile(filepath.Join(home, "config", settingsFile))
	if err != nil {
		return s, fmt.Errorf("reading the node settings: %w", err)
	}
	if err := jsonx.Unmarshal(b, &s, true); err != nil {
		return s, fmt.Errorf("decoding the node settings: %w", err)
	}
	return s, nil
}

func pickPorts(n, base int) ([]int, error) {
	ports := make([]int, n)
	if base > 0 {
		for i := range ports {
			ports[i] = base + i
		}
		return ports, nil
	}
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("picking a free port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

func (s Settings) cometConfig(home string) *cfg.Config {
	c := cfg.DefaultConfig()
	c.SetRoot(home)
	c.Moniker = s.Moniker
	c.P2P.ListenAddress = s.P2PAddress
	c.P2P.PersistentPeers = s.PersistentPeers
	c.P2P.AllowDuplicateIP = true
	c.P2P.AddrBookStrict = false
	c.P2P.PexReactor = false
	// The default 5 MB/s per peer throttles 1 MB batch transactions and
	// the blocks that carry them.
	c.P2P.SendRate = 64 << 20
	c.P2P.RecvRate = 64 << 20
	c.RPC.ListenAddress = s.RPCAddress
	c.RPC.MaxSubscriptionsPerClient = 100
	c.TxIndex.Indexer = "null"
	c.Instrumentation.Prometheus = false
	c.Mempool.MaxTxBytes = MaxTxBytes + 1024
	if s.MempoolSize > 0 {
		c.Mempool.Size = s.MempoolSize
	}
	c.Consensus.TimeoutPropose = ms(s.TimeoutProposeMS, 1000)
	c.Consensus.TimeoutCommit = ms(s.TimeoutCommitMS, 1000)
	c.Consensus.CreateEmptyBlocks = true
	c.Consensus.CreateEmptyBlocksInterval = ms(s.EmptyBlockIntervalMS, 0)
	if s.GossipMS > 0 {
		g := ms(s.GossipMS, 100)
		c.P2P.FlushThrottleTimeout = g
		c.Consensus.PeerGossipSleepDuration = g
	}
	return c
}

func ms(v, def int) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Millisecond
}

// NodeOptions configure StartNode.
type NodeOptions struct {
	// Log receives CometBFT's log at info level; nil discards it.
	Log io.Writer
}

// Node is a running validator with our application, embedded in process.
type Node struct {
	home     string
	settings Settings
	node     *nm.Node
	app      *App
	appDB    dbm.DB
	dbs      *dbTracker
	client   *local.Local
	stopOnce sync.Once
	stopErr  error
}

// StartNode starts the validator in home (written by Init). The app state
// lives in <home>/data/anchor_app.db and resumes from the last commit.
func StartNode(ctx context.Context, home string, opts NodeOptions) (*Node, error) {
	s, err := ReadSettings(home)
	if err != nil {
		return nil, err
	}
	c := s.cometConfig(home)
	for _, f := range []string{c.PrivValidatorKeyFile(), c.PrivValidatorStateFile(), c.NodeKeyFile(), c.GenesisFile()} {
		if _, err := os.Stat(f); err != nil { // privval exits the process on a missing file
			return nil, fmt.Errorf("the node home is incomplete: %w", err)
		}
	}
	pv := privval.LoadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	nk, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("loading the node key: %w", err)
	}
	appDB, err := dbm.NewGoLevelDBWithOpts("anchor_app", c.DBDir(), appDBOptions())
	if err != nil {
		return nil, fmt.Errorf("opening the app database: %w", err)
	}
	app, err := NewApp(appDB, s.ChainID)
	if err != nil {
		appDB.Close()
		return nil, err
	}
	logger := cmtlog.NewNopLogger()
	if opts.Log != nil {
		logger = cmtlog.NewFilter(cmtlog.NewTMLogger(cmtlog.NewSyncWriter(opts.Log)), cmtlog.AllowInfo())
	}
	dbs := &dbTracker{}
	n, err := nm.NewNodeWithContext(ctx, c, pv, nk, proxy.NewLocalClientCreator(app),
		nm.DefaultGenesisDocProviderFunc(c), dbs.provider, nm.DefaultMetricsProvider(c.Instrumentation), logger)
	if err != nil {
		dbs.closeAll()
		appDB.Close()
		return nil, fmt.Errorf("creating the node: %w", err)
	}
	if err := n.Start(); err != nil {
		dbs.closeAll()
		appDB.Close()
		return nil, fmt.Errorf("starting the node: %w", err)
	}
	return &Node{home: home, settings: s, node: n, app: app, appDB: appDB, dbs: dbs, client: local.New(n)}, nil
}

// appDBOptions are the goleveldb options of the app database. Most version
// lookups miss (a new subject), so a bloom filter saves a walk through
// every table; a larger write buffer and larger tables compact less often.
// The map's nodes are keyed by their hash, so writes land all over the key
// space and compaction is much of the write cost; the data is mostly
// hashes, which do not compress.
func appDBOptions() *opt.Options {
	return &opt.Options{
		Filter:                 filter.NewBloomFilter(10),
		WriteBuffer:            16 << 20,
		BlockCacheCapacity:     32 << 20,
		CompactionTableSize:    8 << 20,
		Compression:            opt.NoCompression,
		DisableSeeksCompaction: true,
	}
}

// Client is the in-process RPC client of the node.
func (n *Node) Client() rpcclient.Client { return n.client }

// ChainID is the chain the node runs.
func (n *Node) ChainID() string { return n.settings.ChainID }

// Home is the node's home directory.
func (n *Node) Home() string { return n.home }

// Trust returns the chain ID and the genesis validator set, for
// VerifyReceipt.
func (n *Node) Trust() (trust.Trust, error) {
	return trust.TrustFromGenesis(filepath.Join(n.home, "config", "genesis.json"))
}

// Stop stops the node and closes every database it opened, so the same
// home can be started again in this process. It is safe to call twice.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		if err := n.node.Stop(); err != nil {
			n.stopErr = fmt.Errorf("stopping the node: %w", err)
		}
		n.node.Wait()
		n.dbs.closeAll()
		if err := n.appDB.Close(); err != nil && n.stopErr == nil {
			n.stopErr = fmt.Errorf("closing the app database: %w", err)
		}
	})
	return n.stopErr
}

// dbTracker wraps CometBFT's DB provider: Node.Stop does not close every
// database it opened (the tx index stays open, holding its file lock), so
// we close them all ourselves.
type dbTracker struct {
	mu  sync.Mutex
	dbs []dbm.DB
}

func (t *dbTracker) provider(ctx *cfg.DBContext) (dbm.DB, error) {
	db, err := cfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	g := &guardedDB{DB: db}
	t.mu.Lock()
	t.dbs = append(t.dbs, g)
	t.mu.Unlock()
	return g, nil
}

// guardedDB makes reads after Close harmless. CometBFT's reactors can
// still be mid-iteration when Node.Stop closes the block store, and the
// block store panics on a read error ("leveldb: closed"); after Close a read
// here finds nothing instead, and a write fails. Close waits for reads in
// flight.
type guardedDB struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

var errDBClosed = errors.New("the database is closed")

func (g *guardedDB) Get(k []byte) ([]byte, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, nil
	}
	return g.DB.Get(k)
}

func (g *guardedDB) Has(k []byte) (bool, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false, nil
	}
	return g.DB.Has(k)
}

func (g *guardedDB) write(f func() error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return errDBClosed
	}
	return f()
}

func (g *guardedDB) Set(k, v []byte) error { return g.write(func() error { return g.DB.Set(k, v) }) }
func (g *guardedDB) SetSync(k, v []byte) error {
	return g.write(func() error { return g.DB.SetSync(k, v) })
}
func (g *guardedDB) Delete(k []byte) error { return g.write(func() error { return g.DB.Delete(k) }) }
func (g *guardedDB) DeleteSync(k []byte) error {
	return g.write(func() error { return g.DB.DeleteSync(k) })
}

func (g *guardedDB) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.DB.Close()
}

func (t *dbTracker) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, db := range t.dbs {
		_ = db.Close() // some were closed by Node.Stop already; closing again is harmless
	}
	t.dbs = nil
}

// GenerateOperatorKey makes a new Ed25519 operator key.
func GenerateOperatorKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("generating an operator key: %w", err)
	}
	return priv, nil
}
