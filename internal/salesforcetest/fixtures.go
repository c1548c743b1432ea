package salesforcetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// Key makes a connected app's certificate key pair: the PEM private key
// hoist signs its JWTs with, and the public key the fake checks them with.
func Key() (privatePEM string, pub *rsa.PublicKey, err error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", nil, err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), &k.PublicKey, nil
}

// Stages are the standard Opportunity stages.
var Stages = []string{"Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
	"Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"}

// Opportunity is the standard Opportunity object with an external ID field
// (Ext_Id__c) and a few custom fields of every type hoist formats; extra
// adds that many text fields Field_001__c… (a wide object for benchmarks).
func Opportunity(extra int) Object {
	o := Object{Name: "Opportunity", KeyPrefix: "006", Fields: []Field{
		{Name: "Ext_Id__c", Type: "string", Length: 80, ExternalID: true},
		{Name: "Name", Type: "string", Length: 120, Required: true},
		{Name: "StageName", Type: "picklist", Picklist: Stages, Restricted: true, Required: true},
		{Name: "CloseDate", Type: "date", Required: true},
		{Name: "Amount", Type: "currency"},
		{Name: "Probability", Type: "percent"},
		{Name: "IsPrivate", Type: "boolean"},
		{Name: "NextStep", Type: "string", Length: 255},
		{Name: "AccountId", Type: "reference"},
		{Name: "Last_Activity__c", Type: "datetime"},
		{Name: "Contact_Email__c", Type: "email"},
		{Name: "Seats__c", Type: "int"},
		{Name: "Region__c", Type: "multipicklist", Picklist: []string{"EMEA", "AMER", "APAC"}, Restricted: true},
		{Name: "ExpectedRevenue", Type: "currency", ReadOnly: true},
	}}
	for i := 1; i <= extra; i++ {
		o.Fields = append(o.Fields, Field{Name: fmt.Sprintf("Field_%03d__c", i), Type: "string", Length: 255})
	}
	return o
}

// Customer is a custom object for the quickstart's customers (the demo).
func Customer() Object {
	return Object{Name: "Customer__c", KeyPrefix: "a01", Fields: []Field{
		{Name: "Customer_Id__c", Type: "string", Length: 20, ExternalID: true},
		{Name: "Name", Type: "string", Length: 80, Required: true},
		{Name: "Email__c", Type: "email"},
		{Name: "Country__c", Type: "string", Length: 2},
		{Name: "Plan__c", Type: "picklist", Picklist: []string{"free", "starter", "pro", "enterprise"}, Restricted: true},
		{Name: "Lifetime_Value__c", Type: "currency"},
		{Name: "Is_Active__c", Type: "boolean"},
		{Name: "Signup_Date__c", Type: "date"},
	}}
}
