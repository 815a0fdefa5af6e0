"""Word lists for the demo data: Brazilian names, companies, places and services. Data only."""

from __future__ import annotations

FIRST_NAMES_M = (
    "João", "José", "Antônio", "Luís", "Fábio", "Sérgio", "Vinícius", "Rogério", "André", "Otávio",
    "Paulo", "Gustavo", "Caio", "Marcos", "Rafael", "Thiago", "Lucas", "Mário", "Márcio", "Cássio",
    "Álvaro", "Emílio", "Flávio", "Júlio", "Renato", "Henrique", "Eduardo", "Ígor", "Raí", "Joaquim",
)
FIRST_NAMES_F = (
    "Maria", "Ana", "Márcia", "Cláudia", "Lúcia", "Mônica", "Letícia", "Júlia", "Renata", "Thaís",
    "Patrícia", "Inês", "Beatriz", "Bárbara", "Ângela", "Fernanda", "Luana", "Camila", "Débora", "Vitória",
    "Cecília", "Lívia", "Tânia", "Sônia", "Gabriela", "Aline", "Priscila", "Érica", "Natália", "Conceição",
)
SURNAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Ribeiro", "Carvalho", "Araújo", "Gonçalves", "Magalhães", "Simões", "Brandão", "Assunção", "Falcão",
    "Monteiro", "Barbosa", "Reis", "Costa", "Cunha", "Cardoso", "Teixeira", "Correia", "Nogueira", "Guimarães",
    "Conceição",
    "Peçanha", "Damásio", "Vieira", "Rocha", "Moraes", "Mendonça", "Sá", "Leão", "Macêdo", "Azevedo",
)
#: The preposition a surname takes in a name like "Ana da Silva Lima"; "de" for all the others.
SURNAMES_WITH_DOS = frozenset({"Santos", "Reis"})
SURNAMES_WITH_DA = frozenset({"Silva", "Conceição", "Rocha", "Assunção", "Costa", "Cunha"})

TITLES = (  # (masculine, feminine)
    ("Diretor Financeiro", "Diretora Financeira"),
    ("Sócio-administrador", "Sócia-administradora"),
    ("Gerente de Compras", "Gerente de Compras"),
    ("Diretor Jurídico", "Diretora Jurídica"),
    ("Coordenador Administrativo", "Coordenadora Administrativa"),
    ("Diretor de Operações", "Diretora de Operações"),
    ("CEO", "CEO"),
)

SECTORS = (
    "Engenharia", "Tecnologia", "Logística", "Consultoria", "Alimentos", "Transportes", "Serviços Médicos",
    "Contabilidade", "Agropecuária", "Educação", "Comércio de Máquinas", "Energia Solar", "Têxtil",
)
SECTOR_PREFIXES = ("Construtora", "Transportadora", "Distribuidora", "Indústria", "Farmácia", "Clínica",
                   "Editora", "Metalúrgica", "Padaria", "Laboratório")
FANCY = ("Aurora", "Horizonte", "Atlântico", "Cerrado", "Ipê", "Jequitibá", "Pantanal", "Aliança", "Progresso",
         "Serra Azul", "Boa Vista", "Três Rios", "Primavera", "São Jorge", "Guanabara", "Araucária", "Açaí")
LEGAL_SUFFIXES = ("Ltda.", "Ltda.", "Ltda.", "S.A.", "ME", "EPP")

#: (city, UF, area code, first CEP prefix, last CEP prefix)
CITIES = (
    ("São Paulo", "SP", "11", 1000, 5999),
    ("Rio de Janeiro", "RJ", "21", 20000, 23799),
    ("Belo Horizonte", "MG", "31", 30000, 31999),
    ("Porto Alegre", "RS", "51", 90000, 91999),
    ("Curitiba", "PR", "41", 80000, 82999),
    ("Salvador", "BA", "71", 40000, 42599),
    ("Recife", "PE", "81", 50000, 52999),
    ("Fortaleza", "CE", "85", 60000, 61599),
    ("Brasília", "DF", "61", 70000, 72799),
    ("Campinas", "SP", "19", 13000, 13139),
    ("Florianópolis", "SC", "48", 88000, 88099),
    ("Goiânia", "GO", "62", 74000, 74899),
    ("Manaus", "AM", "92", 69000, 69099),
    ("Belém", "PA", "91", 66000, 66999),
    ("Vitória", "ES", "27", 29000, 29099),
    ("Ribeirão Preto", "SP", "16", 14000, 14114),
    ("São José dos Campos", "SP", "12", 12200, 12249),
    ("Niterói", "RJ", "21", 24000, 24399),
)
STREET_TYPES = ("Rua", "Rua", "Avenida", "Alameda", "Travessa")
STREET_NAMES = (
    "das Palmeiras", "Sete de Setembro", "XV de Novembro", "Marechal Deodoro", "Getúlio Vargas", "Dom Pedro II",
    "Tiradentes", "Santos Dumont", "Barão do Rio Branco", "José Bonifácio", "Rui Barbosa", "dos Andradas",
    "Brigadeiro Faria Lima", "da Consolação", "Afonso Pena", "Senador Vergueiro", "Princesa Isabel",
    "São João", "Presidente Vargas", "das Acácias", "Visconde de Mauá", "Conselheiro Aguiar",
)
DISTRICTS = ("Centro", "Jardim América", "Vila Nova", "Boa Vista", "Santa Cecília", "Bela Vista", "Cidade Nova",
             "Jardim Botânico", "São Cristóvão", "Funcionários", "Savassi", "Moinhos de Vento", "Batel",
             "Itaim Bibi", "Botafogo", "Pituba", "Aldeota", "Asa Sul")
COMPLEMENTS = ("", "", "", "sala 1203", "conj. 45", "7º andar", "bloco B", "galpão 3")

#: (description, unit, min quantity, max quantity, min unit price, max unit price) in BRL
SERVICES = (
    ("Implantação do sistema de gestão", "projeto", 1, 1, 8_000, 60_000),
    ("Licença anual de software", "licenças", 5, 200, 300, 2_400),
    ("Consultoria técnica", "horas", 8, 160, 180, 650),
    ("Treinamento presencial da equipe", "turmas", 1, 6, 2_500, 9_000),
    ("Suporte técnico premium", "meses", 3, 24, 900, 6_000),
    ("Manutenção preventiva de equipamentos", "visitas", 2, 24, 450, 3_200),
    ("Auditoria contábil e fiscal", "projeto", 1, 1, 12_000, 85_000),
    ("Desenvolvimento de integração com ERP", "horas", 20, 400, 160, 420),
    ("Hospedagem em nuvem gerenciada", "meses", 6, 36, 700, 12_000),
    ("Serviço de transporte e armazenagem", "meses", 1, 12, 3_000, 40_000),
    ("Elaboração de projeto executivo", "projeto", 1, 1, 15_000, 180_000),
)

DEPARTMENTS = ("Vendas SP", "Vendas RJ", "Vendas Sul", "Enterprise", "Inside Sales")
DEPARTMENT_ROOT = "Diretoria Comercial"
