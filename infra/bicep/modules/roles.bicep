// Data-plane role assignments, least privilege per host: the Function App and the GPU Container App each run as
// their own user-assigned identity, blob access is granted per container, and only the Function App can touch the
// Flex Consumption deployment package. (AcrPull on the GPU image's registry lives in acr-pull.bicep: the registry
// may sit in another resource group.)
// Names are guid()s of scope + principal + role, so redeployments are idempotent. The Function App identity keeps the
// name it had when one identity served both hosts, so its account-level queue/table, OpenAI and telemetry
// assignments keep their names too.
//
// Why each grant (see README "Run in Azure" > Role assignments):
// - Storage Blob Data Contributor per container: Contributor has read/write/delete on blobs and create on containers
//   (containers/write), which is what the Functions host (locks, timer status, keys) and the Durable Azure Storage
//   backend (partition leases, app lease, large messages) do. Owner adds only ACL/ownership management (Data Lake)
//   and is not needed on a flat-namespace account.
// - Queue and Table Data Contributor on the account: the Durable task hub's control queues (one per partition) and
//   tables ({hub}History, {hub}Instances, {hub}Partitions) and the host's monthly diagnostic-events tables are created
//   and named at run time; see the README for why they are not scoped further.
@description('Name of the user-assigned managed identity of the Function App (CPU host).')
param functionsIdentityName string

@description('Name of the user-assigned managed identity of the GPU Container App.')
param gpuIdentityName string

@description('Storage account name.')
param storageAccountName string

@description('Blob containers the Function App identity gets Storage Blob Data Contributor on (data, deployment package, host and task hub containers).')
param functionsBlobContainers string[]

@description('Blob containers the GPU identity gets Storage Blob Data Contributor on (data, host locks, task hub containers; never the deployment package).')
param gpuBlobContainers string[]

@description('Blob containers the optional deploying user gets Storage Blob Data Contributor on.')
param userBlobContainers string[]

@description('Azure OpenAI account name.')
param openAiAccountName string

@description('Application Insights component name.')
param appInsightsName string

@description('Optional object id of a user or group (e.g. the developer running azd) to grant blob + OpenAI data access; empty for none.')
param userPrincipalId string = ''

@description('Principal type of userPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param userPrincipalType string = 'User'

// Built-in role definition ids.
var roles = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  cognitiveServicesOpenAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}
// Task hub queues and tables + the host's diagnostic-events tables (both hosts).
var accountRoles = [
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]
var hasUser = !empty(userPrincipalId)

resource functionsIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: functionsIdentityName
}

resource gpuIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: gpuIdentityName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-06-01' existing = {
  parent: storage
  name: 'default'
}

resource functionsContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' existing = [
  for containerName in functionsBlobContainers: {
    parent: blobService
    name: containerName
  }
]

resource gpuContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' existing = [
  for containerName in gpuBlobContainers: {
    parent: blobService
    name: containerName
  }
]

resource userContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' existing = [
  for containerName in userBlobContainers: {
    parent: blobService
    name: containerName
  }
]

resource openAi 'Microsoft.CognitiveServices/accounts@2026-07-01' existing = {
  name: openAiAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Function App: blob data, deployment package (the platform writes and reads the package with this identity),
// host containers and task hub containers.
resource functionsBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, i) in functionsBlobContainers: {
    name: guid(functionsContainers[i].id, functionsIdentity.id, roles.storageBlobDataContributor)
    scope: functionsContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
      principalId: functionsIdentity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// GPU worker: blob data, host locks and task hub containers; nothing on the deployment package or the host keys.
resource gpuBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, i) in gpuBlobContainers: {
    name: guid(gpuContainers[i].id, gpuIdentity.id, roles.storageBlobDataContributor)
    scope: gpuContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
      principalId: gpuIdentity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource functionsAccount 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in accountRoles: {
    name: guid(storage.id, functionsIdentity.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: functionsIdentity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource gpuAccount 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in accountRoles: {
    name: guid(storage.id, gpuIdentity.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: gpuIdentity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Chat completions against the reasoner deployment. Both hosts: the Durable Azure Storage backend hands any activity
// to any worker on the task hub, so RecommendShardActivity (reasoning included) can run on the GPU worker too (and disabling it there makes
// such a work item fail instead of moving to the Function App). Without the role the GPU's LLM calls would get 403
// and fall back to the embedded reasoner, so results would depend on which host picked the shard up.
resource functionsOpenAi 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(openAi.id, functionsIdentity.id, roles.cognitiveServicesOpenAiUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesOpenAiUser)
    principalId: functionsIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource gpuOpenAi 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(openAi.id, gpuIdentity.id, roles.cognitiveServicesOpenAiUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesOpenAiUser)
    principalId: gpuIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Telemetry ingestion into Application Insights with local auth disabled (Entra ID ingestion), per host.
resource functionsMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionsIdentity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: functionsIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource gpuMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, gpuIdentity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: gpuIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Optional: the deploying user can upload inputs / read results and call the model from a workstation.
resource userBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, i) in userBlobContainers: if (hasUser) {
    name: guid(userContainers[i].id, userPrincipalId, roles.storageBlobDataContributor)
    scope: userContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
      principalId: userPrincipalId
      principalType: userPrincipalType
    }
  }
]

resource userOpenAi 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasUser) {
  name: guid(openAi.id, userPrincipalId, roles.cognitiveServicesOpenAiUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesOpenAiUser)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}
