package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
)

// credentialKeys are the keys whose value is a file promfwd reads a
// credential (or TLS material) from, for sources and for every sink type.
var credentialKeys = map[string]bool{
	"bearer_token_file": true, "password_file": true, "username_file": true,
	"token_file": true, "api_key_file": true, "credentials_file": true,
	"ca_file": true, "cert_file": true, "key_file": true,
	"kubeconfig_file": true, // kubernetes_sd_configs: holds the API token or client key
}

// CredentialFile is one credential file named in the config.
type CredentialFile struct {
	Owner string // "source NAME" or "sink NAME"
	Field string // sources[0].basic_auth.password_file
	Path  string
	keys  []any // Field as errAt keys
}

// CredentialFiles lists every credential file the config names: sources'
// bearer_token_file, basic_auth username_file/password_file and TLS files;
// sinks' token_file, api_key_file, bearer_token_file and the like.
func (c *Config) CredentialFiles() []CredentialFile {
	if c == nil {
		return nil
	}
	var out []CredentialFile
	for i, s := range c.Sources {
		walkCredentials(reflect.ValueOf(s), []any{"sources", i}, "source "+s.Name, &out)
	}
	for i, s := range c.Sinks {
		if s.Settings != nil {
			walkCredentials(reflect.ValueOf(s.Settings), []any{"sinks", i}, "sink "+s.Name, &out)
		}
	}
	return out
}

func walkCredentials(v reflect.Value, keys []any, owner string, out *[]CredentialFile) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Slice { // *_sd_configs lists
		if k := v.Type().Elem().Kind(); k != reflect.Pointer && k != reflect.Struct {
			return
		}
		for i := range v.Len() {
			walkCredentials(v.Index(i), append(append([]any(nil), keys...), i), owner, out)
		}
		return
	}
	if v.Kind() != reflect.Struct {
		return
	}
	for _, f := range orderedFields(v.Type()) {
		if f.name == "" {
			continue
		}
		fv := v.FieldByIndex(f.index)
		k := append(append([]any(nil), keys...), f.name)
		if credentialKeys[f.name] && fv.Kind() == reflect.String {
			if p := fv.String(); p != "" {
				*out = append(*out, CredentialFile{Owner: owner, Field: keyPath(k), Path: p, keys: k})
			}
			continue
		}
		walkCredentials(fv, k, owner, out)
	}
}

func keyPath(keys []any) string {
	path := ""
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			path = joinPath(path, k)
		case int:
			path = indexPath(path, k)
		}
	}
	return path
}

// Check reports whether the file can be read now, as a message that names
// neither the path (it may come from the environment) nor the content.
func (cf CredentialFile) Check() error {
	f, err := os.Open(cf.Path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot read the file: %v", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return errors.New("cannot read the file: is a directory")
	}
	return nil
}

// checkCredentialFiles positions every unreadable credential file.
func (c *Config) checkCredentialFiles(v validator) error {
	var errs collect
	for _, cf := range c.CredentialFiles() {
		if err := cf.Check(); err != nil {
			errs.add(v.errAt(err.Error(), cf.keys...))
		}
	}
	return errs.err()
}

// CredentialFileErrors reports, positioned in the file, every credential
// file that could not be read when the config was loaded. Load does not
// fail for them: the service starts and reports the source or sink
// unhealthy until the file appears; `promfwd check` treats them as errors.
func (c *Config) CredentialFileErrors() error { return c.credErrs }

// String names the problem for logs and /readyz.
func (cf CredentialFile) String() string {
	return strings.Join([]string{cf.Owner, cf.Field}, ": ")
}
