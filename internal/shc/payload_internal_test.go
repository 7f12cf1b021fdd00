package shc

import (
	"reflect"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// The payload as the package read it before readPayload: jsonx.Unmarshal
// (jsonx.Check, then encoding/json v2) into tagged structs. It is kept
// here as the reference that FuzzReadPayloadMatchesUnmarshal holds the
// one-pass reader to.
type refPayload struct {
	ISS *string  `json:"iss"`
	NBF *float64 `json:"nbf"`
	EXP *float64 `json:"exp"`
	VC  *struct {
		Type              []string `json:"type"`
		RID               string   `json:"rid"`
		CredentialSubject struct {
			FHIRBundle *struct {
				ResourceType string `json:"resourceType"`
				Entry        []struct {
					Resource *refResource `json:"resource"`
				} `json:"entry"`
			} `json:"fhirBundle"`
		} `json:"credentialSubject"`
	} `json:"vc"`
}

type refResource struct {
	ResourceType string   `json:"resourceType"`
	Name         refNames `json:"name"`
	BirthDate    string   `json:"birthDate"`
	Status       string   `json:"status"`
	VaccineCode  struct {
		Coding []Coding `json:"coding"`
	} `json:"vaccineCode"`
	OccurrenceDateTime string `json:"occurrenceDateTime"`
	LotNumber          string `json:"lotNumber"`
}

type refNames struct {
	list []struct {
		Family string   `json:"family"`
		Given  []string `json:"given"`
	}
	notList bool
}

func (n *refNames) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	if d.PeekKind() != '[' {
		n.notList = true
		return d.SkipValue()
	}
	return json.UnmarshalDecode(d, &n.list)
}

// refRead decodes data the former way and converts it to a payload.
func refRead(data []byte) (*payload, error) {
	var rp refPayload
	if err := jsonx.Unmarshal(data, &rp, false); err != nil {
		return nil, err
	}
	pl := &payload{ISS: rp.ISS, NBF: rp.NBF, EXP: rp.EXP}
	if rp.VC == nil {
		return pl, nil
	}
	pl.VC = &vcClaim{Type: rp.VC.Type, RID: rp.VC.RID}
	fb := rp.VC.CredentialSubject.FHIRBundle
	if fb == nil {
		return pl, nil
	}
	pl.VC.Bundle = &bundle{ResourceType: fb.ResourceType}
	for _, e := range fb.Entry {
		var res *resource
		if r := e.Resource; r != nil {
			res = &resource{ResourceType: r.ResourceType, BirthDate: r.BirthDate, Status: r.Status,
				Coding: r.VaccineCode.Coding, OccurrenceDateTime: r.OccurrenceDateTime, LotNumber: r.LotNumber,
				Name: names{notList: r.Name.notList}}
			for _, h := range r.Name.list {
				res.Name.list = append(res.Name.list, humanName{Family: h.Family, Given: h.Given})
			}
		}
		pl.VC.Bundle.Entries = append(pl.VC.Bundle.Entries, res)
	}
	return pl, nil
}

// FuzzReadPayloadMatchesUnmarshal: readPayload accepts exactly the
// payloads that the former decoding (jsonx.Unmarshal into tagged structs)
// accepted, reads the same values from them, and refuses a payload that
// jsonx.Check refuses with Check's code.
//
//	go test -run '^$' -fuzz FuzzReadPayloadMatchesUnmarshal -fuzztime 60s ./internal/shc
func FuzzReadPayloadMatchesUnmarshal(f *testing.F) {
	f.Add(`{"iss":"https://i.example","nbf":1772409600.5,"exp":1e9,"vc":{"type":["https://smarthealth.cards#health-card",null],"rid":"r1","credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"resourceType":"Bundle","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Public","given":["Jane","Q."]}],"birthDate":"1970-05-06"}},{"resource":{"resourceType":"Immunization","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"208"}]},"occurrenceDateTime":"2026-01-05","lotNumber":"1","performer":[{"actor":{"display":"ABC"}}]}}]}}}}`) // a whole card
	f.Add(`{"iss":null,"nbf":null,"exp":null,"vc":null}`)                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                            // null members read as absent
	f.Add(`{"vc":{"type":null,"rid":null,"credentialSubject":null}}`)                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                // null containers
	f.Add(`{"vc":{"credentialSubject":{"fhirBundle":{"entry":[null,{},{"resource":null}]}}}}`)                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                       // entries without a resource
	f.Add(`{"vc":{"credentialSubject":{"fhirBundle":{"entry":[{"resource":{"name":"Org"}}]}}}}`)                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     // a name that is a string
	f.Add(`{"vc":{"credentialSubject":{"fhirBundle":{"entry":[{"resource":{"name":null}}]}}}}`)                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                      // a name that is null
	f.Add(`{"vc":{"credentialSubject":{"fhirBundle":{"entry":[{"resource":{"name":[null,{"given":null}]}}]}}}}`)                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     // null HumanNames
	f.Add(`{"vc":{"credentialSubject":{"fhirBundle":{"entry":[{"resource":{"vaccineCode":{"coding":[null]}}}]}}}}`)
	f.Add(`{"iss":5}`)                                                               // a wrong type
	f.Add(`{"nbf":"1"}`)                                                             // a number as a string
	f.Add(`{"vc":{"type":[1]}}`)                                                     // a wrong element type
	f.Add(`{"iss":"a","iss":"b"}`)                                                   // a duplicate name
	f.Add(`{"iss":"a","i\u0073s":"b"}`)                                              // a duplicate after unescaping
	f.Add(`{"ISS":"a"}`)                                                             // names match case-exactly
	f.Add(`{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`) // too deep inside a skipped member
	f.Add(`{"x":1e400}`)                                                             // a number beyond a double inside a skipped member
	f.Add("{\"x\":\"\xff\"}")                                                        // invalid UTF-8 inside a skipped member
	f.Add(`{"nbf":1} x`)                                                             // data after the value
	f.Add(`[]`)                                                                      // not an object
	f.Fuzz(func(t *testing.T, s string) {
		got, err := readPayload([]byte(s))
		want, werr := refRead([]byte(s))
		switch {
		case err == nil && werr != nil:
			t.Fatalf("read %+v, which the former decoding refuses: %v", got, werr)
		case err != nil && werr == nil:
			t.Fatalf("refused what the former decoding accepts: %v", err)
		case err == nil && !reflect.DeepEqual(emptyAsNil(got), emptyAsNil(want)):
			t.Fatalf("read %#v, the former decoding %#v", got, want)
		}
		if cerr := jsonx.Check([]byte(s), jsonx.MaxDepth); cerr != nil && err != cerr && !reflect.DeepEqual(err, cerr) {
			t.Fatalf("refused with %v, jsonx.Check with %v", err, cerr)
		}
	})
}

// emptyAsNil makes every empty list of pl nil: encoding/json v2 reads []
// as an empty list and readPayload as none, which Verify tells apart
// nowhere.
func emptyAsNil(pl *payload) *payload {
	if pl.VC == nil {
		return pl
	}
	if len(pl.VC.Type) == 0 {
		pl.VC.Type = nil
	}
	if pl.VC.Bundle == nil {
		return pl
	}
	if len(pl.VC.Bundle.Entries) == 0 {
		pl.VC.Bundle.Entries = nil
	}
	for _, r := range pl.VC.Bundle.Entries {
		if r == nil {
			continue
		}
		if len(r.Coding) == 0 {
			r.Coding = nil
		}
		if len(r.Name.list) == 0 {
			r.Name.list = nil
		}
		for i := range r.Name.list {
			if len(r.Name.list[i].Given) == 0 {
				r.Name.list[i].Given = nil
			}
		}
	}
	return pl
}
