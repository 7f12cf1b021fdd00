package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load fills cfg (a pointer to a struct whose fields carry `flag` tags and
// hold the defaults) from the YAML file named by --config or SSI_CONFIG,
// then the environment, then the flags in args. getenv is os.Getenv in
// production. It returns the flag set's remaining arguments.
func Load(fs *flag.FlagSet, cfg any, args []string, getenv func(string) string) ([]string, error) {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, errors.New("config: Load needs a pointer to a struct")
	}
	var fields []field
	collect(v.Elem(), &fields)

	configPath := fs.String("config", "", "YAML configuration file (env SSI_CONFIG)")
	// Register every flag writing into a shadow value, so that flags can be
	// applied last whatever order the sources are read in.
	shadows := make([]*flagValue, len(fields))
	for i, f := range fields {
		shadows[i] = &flagValue{field: f}
		fs.Var(shadows[i], f.flag, f.usage)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	path := *configPath
	if path == "" {
		path = getenv("SSI_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("parsing config file %s: %w", path, err)
		}
	}
	var problems []error
	for _, f := range fields {
		if s, ok := lookupEnv(getenv, f.env()); ok {
			if err := set(f.v, s); err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", f.env(), err))
			}
		}
	}
	for _, sh := range shadows {
		if sh.set {
			if err := set(sh.field.v, sh.raw); err != nil {
				problems = append(problems, fmt.Errorf("--%s: %w", sh.field.flag, err))
			}
		}
	}
	return fs.Args(), errors.Join(problems...)
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	s := getenv(name)
	return s, s != ""
}

type field struct {
	flag  string
	usage string
	v     reflect.Value
}

func (f field) env() string {
	return "SSI_" + strings.ToUpper(strings.ReplaceAll(f.flag, "-", "_"))
}

func collect(v reflect.Value, out *[]field) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		fv := v.Field(i)
		if !sf.IsExported() {
			continue
		}
		if name := sf.Tag.Get("flag"); name != "" {
			*out = append(*out, field{flag: name, usage: sf.Tag.Get("usage"), v: fv})
			continue
		}
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Time{}) {
			collect(fv, out)
		}
	}
}

// flagValue records a flag's raw text; Load applies it after the file and
// the environment.
type flagValue struct {
	field field
	raw   string
	set   bool
}

func (f *flagValue) String() string {
	if f == nil || !f.field.v.IsValid() {
		return ""
	}
	if isSecret(f.field.flag) {
		return ""
	}
	if f.field.v.Kind() == reflect.Slice && f.field.v.Len() == 0 {
		return "" // flag's help then prints no "(default [])"
	}
	return fmt.Sprint(f.field.v.Interface())
}

func (f *flagValue) Set(s string) error {
	// Check the syntax now, so that flag.Parse reports it.
	tmp := reflect.New(f.field.v.Type()).Elem()
	if err := set(tmp, s); err != nil {
		return err
	}
	f.raw, f.set = s, true
	return nil
}

func (f *flagValue) IsBoolFlag() bool { return f.field.v.Kind() == reflect.Bool }

func isSecret(name string) bool {
	return strings.Contains(name, "kek") || strings.Contains(name, "secret") || strings.Contains(name, "password")
}

var durationType = reflect.TypeOf(time.Duration(0))

func set(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("not a duration: %q", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", s)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		v.SetInt(n)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported config type %s", v.Type())
	}
	return nil
}

// ReadSecret returns the trimmed contents of the file at path, for secrets
// given as files (DSNs, key-encryption keys).
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
