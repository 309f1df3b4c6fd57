// AcrPull for the GPU worker's identity on the Azure Container Registry that holds the RoleGen image. Deployed into
// the registry's resource group (main.bicep sets the module scope from the registry's resource id), so the registry
// can live outside the RoleGen resource group. The Container App then pulls with the identity: no admin user, no
// password.
@description('Name of the existing Azure Container Registry.')
param registryName string

@description('Resource id of the GPU worker identity (names the assignment; a deploy-time constant).')
param identityId string

@description('Object (principal) id of the GPU worker identity.')
param principalId string

// Built-in AcrPull.
var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2025-11-01' existing = {
  name: registryName
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, identityId, acrPullRoleId)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Login server of the registry (e.g. myregistry.azurecr.io).')
output loginServer string = registry.properties.loginServer
