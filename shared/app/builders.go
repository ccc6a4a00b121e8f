package app

import "github.com/storagegate/storagegate/shared/credentials"

// Builders are the stores this build supports beyond S3.
func Builders() credentials.Builders { return credentials.Builders{} }
