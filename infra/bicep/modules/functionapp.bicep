// The CPU side: a Flex Consumption (FC1) Function App running the .NET 10 isolated worker. It hosts the HTTP API,
// the nightly timer, the Durable orchestrations and the I/O + reasoning activities. Everything authenticates with
// its own user-assigned managed identity (not the GPU worker's): the host storage (AzureWebJobsStorage__*), the
// deployment package container, blob data, the task hub, Azure OpenAI and Application Insights.
@description('Azure region.')
param location string

@description('Tags applied to every resource (the Function App also gets azd-service-name).')
param tags resourceInput<'Microsoft.Resources/resourceGroups@2025-04-01'>.tags

@description('azd service name for the Function App (matches azure.yaml).')
param serviceName string

@description('App Service plan name.')
param planName string

@description('Function App name.')
param name string

@description('Resource id of the Function App identity (user-assigned, not shared with the GPU worker).')
param identityId string

@description('Client id of the Function App identity.')
param identityClientId string

@description('Storage account for AzureWebJobsStorage and the deployment package.')
param storageAccountName string

@description('Primary blob endpoint of the storage account (ends with /).')
param storageBlobEndpoint string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('App settings shared with the GPU worker (RoleGen__*, telemetry destination, host.json overrides).')
param appSettings { *: string }

@description('Maximum number of Flex Consumption instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// Identity-based host storage: no connection string, no keys (the account has shared-key access disabled).
// AZURE_CLIENT_ID picks this host's identity for the app's own clients (blob data, Azure OpenAI); the
// authentication string does the same for telemetry ingestion.
var hostSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  RoleGen__Scoring__ExecutionProvider: 'Cpu'
}
var allSettings = union(appSettings, hostSettings)

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        for setting in items(allSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

resource basicPublishingFtp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource basicPublishingScm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
