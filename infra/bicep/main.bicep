// RoleGen on Azure: a Flex Consumption Function App (orchestration, reasoning, I/O) plus a serverless-GPU Container
// App (ONNX Runtime CUDA backbone scoring) sharing one Durable Functions task hub, one storage account, one
// user-assigned managed identity, Azure OpenAI for the reasoner, and Log Analytics + Application Insights.
// No keys or connection strings anywhere: storage shared-key access, Azure OpenAI local auth and
// Application Insights local auth are all disabled; everything authenticates with Entra ID.
//
// Deploy: `azd up`, or
//   az deployment group create -g <rg> -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
// Check locally (no Azure needed): scripts/bicep.sh check
targetScope = 'resourceGroup'

@description('Name of the environment (azd AZURE_ENV_NAME); feeds the resource token and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region of the resources.')
param location string = resourceGroup().location

@description('Region of the Container Apps environment with serverless GPUs (they exist in a subset of regions).')
param gpuLocation string = location

@description('Region of the Azure OpenAI account (must offer the model with the chosen deployment SKU).')
param openAiLocation string = location

@description('Serverless GPU for backbone scoring: NVIDIA T4 (Consumption-GPU-NC8as-T4) or A100 (Consumption-GPU-NC24-A100).')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string = 'Consumption-GPU-NC8as-T4'

@description('Placeholder image for the GPU worker; replace with the RoleGen Functions image once it is pushed to a registry.')
param gpuWorkerImage string = 'mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated8.0'

@description('Container registry login server of gpuWorkerImage, pulled with the managed identity (AcrPull needed); empty for a public image.')
param gpuWorkerRegistryServer string = ''

@description('Maximum GPU replicas.')
@minValue(1)
@maxValue(10)
param gpuMaxReplicas int = 1

@description('Function names disabled in the GPU worker (HTTP/timer triggers that should only run on the Function App).')
param gpuDisabledFunctions string[] = [
  'StartRun'
  'GetRunStatus'
  'TerminateRun'
  'GetRunReport'
  'NightlyRunTimer'
]

@description('Azure OpenAI model for the reasoner.')
param openAiModelName string = 'gpt-4o-mini'

@description('Azure OpenAI model version.')
param openAiModelVersion string = '2024-07-18'

@description('Azure OpenAI deployment name (RoleGen__Reasoner__Llm__Deployment).')
param openAiDeploymentName string = 'reasoner'

@description('Azure OpenAI deployment SKU.')
@allowed([
  'GlobalStandard'
  'Standard'
  'DataZoneStandard'
])
param openAiDeploymentSku string = 'GlobalStandard'

@description('Azure OpenAI deployment capacity (thousands of tokens per minute).')
@minValue(1)
param openAiCapacity int = 30

@description('Blob container for RoleGen inputs and run outputs (RoleGen__Storage__Container).')
@minLength(3)
@maxLength(63)
param dataContainerName string = 'rolegen'

@description('Durable Functions task hub name (RoleGen__Durable__TaskHubName): letters and digits, 3-45 characters.')
@minLength(3)
@maxLength(45)
param taskHubName string = 'rolegen'

@description('NCRONTAB schedule of the nightly batch (RoleGen__Schedule__Nightly).')
param nightlySchedule string = '0 0 2 * * *'

@description('Dataset (blob prefix events/{dataset}/) the nightly run scores (RoleGen__Runs__Dataset). Empty: the timer logs a warning and starts nothing.')
param nightlyDataset string = ''

@description('Maximum Flex Consumption instances of the Function App.')
@minValue(1)
@maxValue(1000)
param functionMaxInstances int = 100

@description('Optional object id of the deploying user/group to grant blob and Azure OpenAI data access (azd passes AZURE_PRINCIPAL_ID).')
param principalId string = ''

@description('Principal type of principalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'rolegen'
}
// Names are computed here (not taken from module outputs) so modules that look resources up get deploy-time
// constants: What-If can then predict every resource id.
var names = {
  identity: 'id-rolegen-${resourceToken}'
  logAnalytics: 'log-rolegen-${resourceToken}'
  appInsights: 'appi-rolegen-${resourceToken}'
  storage: 'strolegen${resourceToken}'
  openAi: 'oai-rolegen-${resourceToken}'
  plan: 'plan-rolegen-${resourceToken}'
  functionApp: 'func-rolegen-${resourceToken}'
  containerEnvironment: 'cae-rolegen-${resourceToken}'
  gpuApp: 'ca-rolegen-gpu-${resourceToken}'
}
var deploymentContainerName = 'app-package-${take(names.functionApp, 32)}'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    tags: tags
    name: names.identity
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: names.storage
    dataContainerName: dataContainerName
    deploymentContainerName: deploymentContainerName
  }
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  params: {
    location: openAiLocation
    tags: tags
    name: names.openAi
    customSubDomainName: names.openAi
    deploymentName: openAiDeploymentName
    modelName: openAiModelName
    modelVersion: openAiModelVersion
    skuName: openAiDeploymentSku
    capacity: openAiCapacity
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    identityName: names.identity
    storageAccountName: names.storage
    openAiAccountName: names.openAi
    appInsightsName: names.appInsights
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
  dependsOn: [
    identity
    storage
    openAi
    monitoring
  ]
}

// Settings both hosts share; each host adds its AzureWebJobsStorage__* and RoleGen__Scoring__ExecutionProvider.
var sharedSettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  AZURE_CLIENT_ID: identity.outputs.clientId
  RoleGen__Storage__BlobServiceUri: storage.outputs.blobEndpoint
  RoleGen__Storage__Container: storage.outputs.dataContainerName
  RoleGen__Durable__TaskHubName: taskHubName
  RoleGen__Reasoner__Llm__Endpoint: openAi.outputs.endpoint
  RoleGen__Reasoner__Llm__Deployment: openAi.outputs.deploymentName
  RoleGen__Schedule__Nightly: nightlySchedule
  RoleGen__Runs__Dataset: nightlyDataset
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    tags: tags
    serviceName: 'functions'
    planName: names.plan
    name: names.functionApp
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appSettings: sharedSettings
    maximumInstanceCount: functionMaxInstances
  }
  // The host cannot start before its identity can reach storage.
  dependsOn: [
    roles
  ]
}

module gpu 'modules/gpu.bicep' = {
  name: 'gpu'
  params: {
    location: gpuLocation
    tags: tags
    environmentName: names.containerEnvironment
    name: names.gpuApp
    logAnalyticsName: names.logAnalytics
    gpuProfileType: gpuProfileType
    image: gpuWorkerImage
    registryServer: gpuWorkerRegistryServer
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    taskHubName: taskHubName
    appSettings: sharedSettings
    disabledFunctions: gpuDisabledFunctions
    maxReplicas: gpuMaxReplicas
  }
  // The identity must reach the task hub queue before the scaler polls it. (Log Analytics, whose keys the
  // environment reads, is already a dependency through sharedSettings.)
  dependsOn: [
    roles
  ]
}

// azd writes these into the environment (.azure/<env>/.env); they are the values of the app settings above.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_HOST string = functionApp.outputs.defaultHostName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_OPENAI_ENDPOINT string = openAi.outputs.endpoint
output AZURE_OPENAI_DEPLOYMENT string = openAi.outputs.deploymentName
output AZURE_GPU_CONTAINER_APP_NAME string = gpu.outputs.name
output AZURE_GPU_CONTAINER_APP_FQDN string = gpu.outputs.fqdn
output ROLEGEN_STORAGE_CONTAINER string = dataContainerName
output ROLEGEN_TASK_HUB_NAME string = taskHubName
