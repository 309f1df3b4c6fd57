// Storage for RoleGen data (container `rolegen`), the Durable Functions task hub (queues/tables/blobs), the Functions
// host (AzureWebJobsStorage) and the Flex Consumption deployment package. Shared-key access is disabled: every
// client authenticates with Entra ID (the hosts' managed identities, or the deploying user).
// Every blob container the hosts use is created here, so roles.bicep can grant blob access per container instead of
// on the whole account.
@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags resourceInput<'Microsoft.Resources/resourceGroups@2025-04-01'>.tags

@description('Storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Blob container for RoleGen inputs and run outputs.')
param dataContainerName string

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Blob containers of the Functions host and the Durable Functions task hub (azure-webjobs-hosts, <hub>-leases, ...), created up front so they can carry container-scoped role assignments.')
param runtimeContainerNames string[]

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-06-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource dataContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' = {
  parent: blobService
  name: dataContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource runtimeContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' = [
  for containerName in runtimeContainerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output dataContainerName string = dataContainer.name
output deploymentContainerName string = deploymentContainer.name
