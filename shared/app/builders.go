package app

import (
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/store/azurestore"
	"github.com/storagegate/storagegate/shared/store/gcsstore"
)

// Builders are the stores beyond S3 (which credentials builds itself).
func Builders() credentials.Builders {
	return credentials.Builders{GCS: gcsstore.Builder, Azure: azurestore.Builder}
}
